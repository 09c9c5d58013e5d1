package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

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

// disposal is the UIDs of committed batches to dispose of.
type disposal struct{ processed, kept imap.UIDSet }

// disposer disposes of committed batches on its own connection, so that the
// server's work for MOVE (as costly as the fetch itself on Dovecot) overlaps
// with fetching the next batches. Batches that queue up while a command runs
// are merged into one command per folder.
type disposer struct {
	w     *Watcher
	work  context.Context
	queue chan disposal
	done  chan struct{}
	bad   atomic.Bool
	err   error // set before done is closed
}

func (w *Watcher) startDisposer(work context.Context) *disposer {
	d := &disposer{w: w, work: work, queue: make(chan disposal, 64), done: make(chan struct{})}
	go d.loop()
	return d
}

// send queues a committed batch.
func (d *disposer) send(p disposal) { d.queue <- p }

// failed reports whether the disposer has given up; finish returns why.
func (d *disposer) failed() bool { return d.bad.Load() }

// finish waits until everything queued is disposed of and closes the
// disposer's connection.
func (d *disposer) finish() error {
	close(d.queue)
	<-d.done
	return d.err
}

func (d *disposer) loop() {
	defer close(d.done)
	var s *session
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for p := range d.queue {
		if d.err != nil {
			continue // drain: these are fetched again and skipped by the ledger next time
		}
		open := true
		for open {
			select {
			case more, ok := <-d.queue:
				if !ok {
					open = false
					break
				}
				p.processed.AddSet(more.processed)
				p.kept.AddSet(more.kept)
			default:
				open = false
			}
		}
		if s == nil {
			var err error
			if s, err = d.connect(); err != nil {
				d.fail(err)
				continue
			}
		}
		if err := d.w.dispose(s, p.processed, p.kept); err != nil {
			d.fail(err)
		}
	}
}

func (d *disposer) fail(err error) {
	d.err = fmt.Errorf("disposing of recorded messages: %w", err)
	d.bad.Store(true)
}

// connect opens the disposer's connection with the mailbox selected.
func (d *disposer) connect() (*session, error) {
	s, err := dial(d.work, d.w.m, d.w.tokens, nil, d.w.log)
	if err != nil {
		return nil, err
	}
	if err := s.step("selecting "+d.w.m.Folder, func() error {
		_, err := s.c.Select(d.w.m.Folder, nil).Wait()
		return err
	}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}
