package plugins

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// TestZeroingPoolPut: a buffer handed back to the gRPC pool is zeroed over
// its whole capacity, also when a prefix of it is handed back.
func TestZeroingPoolPut(t *testing.T) {
	p := newZeroingPool()
	for _, size := range []int{16, 4096, 70000} {
		b := p.Get(size)
		whole := (*b)[:cap(*b)]
		for i := range whole {
			whole[i] = 0xA5
		}
		short := (*b)[:size/2]
		p.Put(&short)
		if i := bytes.IndexFunc(whole, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("buffer of %d bytes (capacity %d): byte %d not zeroed after Put", size, cap(whole), i)
		}
	}
}

// TestDirectAnswerZeroed: after a direct Decrypt, the plaintext is in the
// caller's result and nowhere in the connection's reused buffer.
func TestDirectAnswerZeroed(t *testing.T) {
	secret := []byte("plaintext-that-must-not-linger-7d1c")
	body, err := proto.Marshal(&pb.DecryptResponse{Plaintext: secret})
	if err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	frame = append(append(frame, directOK), body...)
	host, plugin := net.Pipe()
	defer host.Close()
	defer plugin.Close()
	go func() {
		for {
			var hdr [4]byte
			if _, err := io.ReadFull(plugin, hdr[:]); err != nil {
				return
			}
			if _, err := io.ReadFull(plugin, make([]byte, binary.BigEndian.Uint32(hdr[:]))); err != nil {
				return
			}
			plugin.Write(frame)
		}
	}()
	dc := newDirectConn(host)
	for range 2 {
		resp := &pb.DecryptResponse{}
		if err := dc.roundTrip(time.Now().Add(5*time.Second), directDecrypt, &pb.DecryptRequest{Ref: "k", Ciphertext: make([]byte, 256)}, resp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.GetPlaintext(), secret) {
			t.Fatalf("plaintext %q, want %q", resp.GetPlaintext(), secret)
		}
		if bytes.Contains(dc.buf[:cap(dc.buf)], secret) {
			t.Errorf("the direct connection's buffer still holds the plaintext after the call")
		}
	}
}
