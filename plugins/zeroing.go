package plugins

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/grpc/mem"
)

// Buffers that held plaintexts (Decrypt, AEADOpen, FernetDecryptCBC
// answers) or key material (ImportKey requests) are zeroed before they are
// used again, on both sides of the channel: gRPC's pooled buffers through
// zeroingPool, the direct channel's own buffers after each call. This only
// narrows the window: copies that are not ours to clear (crypto/tls's
// record buffers, the caller's result, the garbage collector's moved
// objects) remain until reused.

// zeroingPool is a gRPC buffer pool whose Put zeroes the whole buffer
// before handing it to the shared pool, so that a pooled buffer never
// carries one message's bytes into another use.
type zeroingPool struct{ mem.BufferPool }

func newZeroingPool() zeroingPool { return zeroingPool{mem.DefaultBufferPool()} }

func (p zeroingPool) Put(b *[]byte) {
	clear((*b)[:cap(*b)])
	p.BufferPool.Put(b)
}

// readFrame reads one direct frame — a 4-byte big-endian length n, then n
// bytes — into buf (growing it when needed) and returns the whole frame
// and its body. Its caller zeroes whole when done. Each side sends one
// frame and waits for the other's, so no read can take bytes of a later
// frame; more bytes than the frame are a protocol violation.
func readFrame(r io.Reader, buf []byte) (whole, body []byte, err error) {
	buf = buf[:cap(buf)]
	if len(buf) < 512 {
		buf = make([]byte, 512)
	}
	n, err := io.ReadAtLeast(r, buf, 4)
	if err != nil {
		return buf[:n], nil, err
	}
	size := int(binary.BigEndian.Uint32(buf[:4]))
	if size == 0 || size > maxDirectFrame {
		return buf[:n], nil, fmt.Errorf("frame of %d bytes", size)
	}
	total := 4 + size
	if n > total {
		return buf[:n], nil, fmt.Errorf("%d bytes past the end of a frame", n-total)
	}
	if len(buf) < total {
		grown := make([]byte, total)
		copy(grown, buf[:n])
		clear(buf[:n])
		buf = grown
	}
	if _, err := io.ReadFull(r, buf[n:total]); err != nil {
		return buf[:total], nil, err
	}
	return buf[:total], buf[4:total], nil
}
