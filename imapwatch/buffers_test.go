package imapwatch

import "testing"

func TestBufferClasses(t *testing.T) {
	for _, tc := range []struct {
		size int64
		cap  int
	}{
		{0, 4 << 10}, {1, 4 << 10}, {4 << 10, 4 << 10}, {4<<10 + 1, 8 << 10},
		{100_000, 128 << 10}, {parseAheadMax, parseAheadMax},
	} {
		b := getBuffer(tc.size)
		if int64(len(b)) != tc.size || cap(b) != tc.cap {
			t.Errorf("getBuffer(%d): len %d cap %d, want len %d cap %d", tc.size, len(b), cap(b), tc.size, tc.cap)
		}
		putBuffer(b)
	}
	if b := getBuffer(parseAheadMax + 1); len(b) != parseAheadMax+1 {
		t.Errorf("getBuffer beyond the largest class: len %d", len(b))
	}
}

func TestBuffersAreRecycled(t *testing.T) {
	// sync.Pool may drop anything at a GC, so look for reuse over a few
	// rounds rather than demanding it every time.
	for range 10 {
		b := getBuffer(5000)
		b[0] = 1
		putBuffer(b)
		if c := getBuffer(6000); &c[:1][0] == &b[:1][0] {
			return
		}
	}
	t.Error("a buffer given back was never handed out again")
}

func TestPutBufferIgnoresForeignSlices(t *testing.T) {
	putBuffer(make([]byte, 10, 5000)) // odd capacity: dropped, no panic
	if b := getBuffer(4500); cap(b) != 8<<10 {
		t.Errorf("a foreign slice entered the pool: cap %d", cap(b))
	}
}
