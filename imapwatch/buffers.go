package imapwatch

import (
	"math/bits"
	"sync"
)

// Buffers for messages read whole to be parsed ahead (see parseAheadMax).
// A mailbox pass reads thousands of messages of a few KiB each; recycling
// their buffers spares the garbage collector most of the bytes a pass would
// otherwise allocate. The parser copies what it keeps (it reads through an
// io.Reader), so a buffer is free again once its message is parsed and
// hashed.
//
// Buffers come in power-of-two classes from 1<<minBufferClass to
// 1<<maxBufferClass, which is parseAheadMax: a larger message is never
// parsed ahead.
const (
	minBufferClass = 12 // 4 KiB
	maxBufferClass = 20 // 1 MiB
)

var bufferPools [maxBufferClass - minBufferClass + 1]sync.Pool

// bufferClass returns the index into bufferPools of the smallest class that
// holds size bytes, or -1 when size is beyond the largest.
func bufferClass(size int64) int {
	if size <= 1<<minBufferClass {
		return 0
	}
	c := bits.Len64(uint64(size-1)) - minBufferClass
	if c >= len(bufferPools) {
		return -1
	}
	return c
}

// getBuffer returns a buffer of length size, recycled when one is free.
func getBuffer(size int64) []byte {
	c := bufferClass(size)
	if c < 0 {
		return make([]byte, size)
	}
	if p, ok := bufferPools[c].Get().(*[]byte); ok {
		return (*p)[:size]
	}
	return make([]byte, size, 1<<(c+minBufferClass))
}

// putBuffer gives b back for reuse. The caller must not touch b afterwards.
func putBuffer(b []byte) {
	c := bufferClass(int64(cap(b)))
	if c < 0 || cap(b) != 1<<(c+minBufferClass) {
		return // not one of ours
	}
	b = b[:0]
	bufferPools[c].Put(&b)
}
