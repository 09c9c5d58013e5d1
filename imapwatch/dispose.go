package imapwatch

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/bounced/bounced/config"
)

// FlagBounced is the keyword set on messages bounced has recorded, by the
// flag disposition and wherever a message cannot be removed safely.
const FlagBounced imap.Flag = "$Bounced"

// doneFlags are the flags of a recorded message left in place.
var doneFlags = []imap.Flag{imap.FlagSeen, FlagBounced}

// ensureFolders creates the folders the disposition needs when missing.
func (w *Watcher) ensureFolders(s *session) error {
	var folders []string
	if w.m.Disposition == config.DispositionMove {
		folders = append(folders, w.m.ProcessedFolder)
	}
	if w.m.Disposition != config.DispositionLeave {
		folders = append(folders, w.m.UnrecognizedFolder)
	}
	for _, f := range folders {
		var exists bool
		if err := s.step("listing folder "+f, func() error {
			list, err := s.c.List("", f, nil).Collect()
			exists = len(list) > 0
			return err
		}); err != nil {
			return err
		}
		if exists {
			continue
		}
		err := s.step("creating folder "+f, func() error { return s.c.Create(f, nil).Wait() })
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			return err
		}
		w.log.Info("created folder", "folder", f)
	}
	return nil
}

// dispose applies the configured disposition to the recorded messages and
// moves the unrecognised ones to the unrecognized folder. It must only be
// called after the batch's WriteBatch returned nil. A failure here loses
// nothing: the next pass refetches the messages and the ledger skips them.
func (w *Watcher) dispose(s *session, processed, kept imap.UIDSet) error {
	if w.m.Disposition == config.DispositionLeave {
		return nil
	}
	if len(kept) > 0 {
		if err := w.move(s, kept, w.m.UnrecognizedFolder); err != nil {
			return err
		}
	}
	if len(processed) == 0 {
		return nil
	}
	switch w.m.Disposition {
	case config.DispositionMove:
		return w.move(s, processed, w.m.ProcessedFolder)
	case config.DispositionFlag:
		return w.flag(s, processed, doneFlags...)
	case config.DispositionDelete:
		return w.remove(s, processed)
	}
	return fmt.Errorf("disposing of messages: unknown disposition %q", w.m.Disposition)
}

// move moves set to folder by UID: MOVE where the server has it, else COPY,
// \Deleted and UID EXPUNGE where it has UIDPLUS, else COPY and flag. A plain
// EXPUNGE is never sent: it would also remove other clients' \Deleted
// messages.
func (w *Watcher) move(s *session, set imap.UIDSet, folder string) error {
	caps := s.caps()
	what := fmt.Sprintf("moving UIDs %s to %s", set, folder)
	if caps.Has(imap.CapMove) {
		return s.step(what, func() error {
			_, err := s.c.Move(set, folder).Wait()
			return err
		})
	}
	if err := s.step(what, func() error {
		_, err := s.c.Copy(set, folder).Wait()
		return err
	}); err != nil {
		return err
	}
	if caps.Has(imap.CapUIDPlus) {
		return w.expunge(s, set)
	}
	w.log.Warn("server has neither MOVE nor UIDPLUS: copied, and flagged the originals instead of expunging them",
		"folder", folder, "uids", set.String())
	return w.flag(s, set, doneFlags...)
}

// remove deletes set: \Deleted and UID EXPUNGE where the server has UIDPLUS,
// else only flags.
func (w *Watcher) remove(s *session, set imap.UIDSet) error {
	if s.caps().Has(imap.CapUIDPlus) {
		return w.expunge(s, set)
	}
	w.log.Warn("server lacks UIDPLUS: marked the messages \\Deleted but did not expunge them", "uids", set.String())
	return w.flag(s, set, append(doneFlags, imap.FlagDeleted)...)
}

// expunge marks set \Deleted and expunges exactly those UIDs.
func (w *Watcher) expunge(s *session, set imap.UIDSet) error {
	if err := w.flag(s, set, imap.FlagDeleted); err != nil {
		return err
	}
	return s.step("expunging UIDs "+set.String(), func() error { return s.c.UIDExpunge(set).Close() })
}

// flag adds flags to set.
func (w *Watcher) flag(s *session, set imap.UIDSet, flags ...imap.Flag) error {
	return s.step("flagging UIDs "+set.String(), func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	})
}
