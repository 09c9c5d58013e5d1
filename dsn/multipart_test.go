package dsn

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// multipartInputs are multipart bodies (boundary "b") that take the reader
// through go-message's corner cases.
var multipartInputs = []string{
	"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\r\nsecond\r\n--b--\r\n",
	"preamble\r\n--b\nContent-Type: text/plain\n\nLF only\n--b\n\nx\n--b--",
	"--b\r\n\r\n--b\r\n\r\n\r\n--b--",
	"--b \t\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--  \r\n",
	"--b\r\n\r\nno end",
	"--b\r\n\r\nbody\r\n--bb\r\nstill body\r\n--b--",
	"--b\r\n\r\nbody\r\n--b-x\r\n--b--",
	"--b\r\n\r\nbody\r\n\r\n--b\r\n\r\n--b--\r\n\r\nepilogue",
	"--b\r\n\r\nbody\r\n--b--\r\n",
	"--b\r\n\r\nbody\r\nstray\r\n--b--",
	"--b\r\nBad Key: x\r\n\r\nbody\r\n--b--",
	"--b\r\n folded: x\r\n\r\nbody\r\n--b--",
	"--b\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\n--b--",
	strings.Repeat("x", 5000) + "\r\n--b\r\n\r\nafter a long preamble line\r\n--b--",
	"--b\r\n\r\n" + strings.Repeat("y", 10000) + "\r\n--b\r\n\r\n" + strings.Repeat("z\r\n", 3000) + "--b--",
	"--b\r\nX-Long: " + strings.Repeat("h", 5000) + "\r\n\r\nbody\r\n--b--",
	"",
	"--b",
	"--b--",
}

// TestMultipartMatchesGoMessage: multipartReader finds the same parts as
// go-message's MultipartReader, with the same header fields, bodies, and
// the same end, clean or broken.
func TestMultipartMatchesGoMessage(t *testing.T) {
	for _, in := range multipartInputs {
		for _, boundary := range []string{"b", ""} {
			checkMultipart(t, in, boundary, 0)
			checkMultipart(t, in, boundary, 0x5a)
		}
	}
}

func FuzzMultipart(f *testing.F) {
	for _, in := range multipartInputs {
		f.Add(in, "b", byte(0))
	}
	f.Fuzz(checkMultipart)
}

// checkMultipart reads in with both readers. The bits of skip say which
// parts are left unread (and so read past by the next call), as the walk
// leaves attachments.
func checkMultipart(t *testing.T, in, boundary string, skip byte) {
	want := textproto.NewMultipartReader(strings.NewReader(in), boundary)
	got := newMultipartReader(strings.NewReader(in), boundary)
	defer got.release()
	for i := 0; ; i++ {
		wp, werr := want.NextPart()
		gp, gh, gerr := got.next()
		if (werr == nil) != (gerr == nil) || werr == io.EOF != (gerr == io.EOF) {
			t.Fatalf("%.200q part %d: error %v, want %v", in, i, gerr, werr)
		}
		if werr != nil {
			return
		}
		for _, k := range partFields {
			if g, _ := gh.value(k); g != wp.Header.Get(k) {
				t.Errorf("%.200q part %d: %s = %q, want %q", in, i, k, g, wp.Header.Get(k))
			}
		}
		if skip&(1<<(i%8)) != 0 {
			continue
		}
		wb, werr := io.ReadAll(wp)
		gb, gerr := io.ReadAll(gp)
		if string(gb) != string(wb) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%.200q part %d: body %.200q (%v), want %.200q (%v)", in, i, gb, gerr, wb, werr)
		}
	}
}
