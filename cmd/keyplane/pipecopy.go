package main

import "io"

// pipeCopy copies src to dst like io.Copy, reading in one goroutine and
// writing in the caller's, through pipeBuffers buffers of size bytes
// handed from one to the other (no copy between them): reading and
// decrypting (decrypt), or reading and encrypting-and-writing (encrypt),
// overlap on a machine with more than one core. It returns the first
// error of either side; after a write error the reader stops at its next
// buffer.
func pipeCopy(dst io.Writer, src io.Reader, size int) (int64, error) {
	type chunk struct {
		buf []byte
		n   int
		err error
	}
	free := make(chan []byte, pipeBuffers)
	for range pipeBuffers {
		free <- make([]byte, size)
	}
	full := make(chan chunk, pipeBuffers)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, buf)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			full <- chunk{buf, n, err}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	for c := range full {
		if c.n > 0 {
			n, err := dst.Write(c.buf[:c.n])
			written += int64(n)
			if err == nil && n < c.n {
				err = io.ErrShortWrite
			}
			if err != nil {
				close(stop)
				for range full { // let the reader finish its read
				}
				return written, err
			}
		}
		if c.err == io.EOF {
			return written, nil
		}
		if c.err != nil {
			return written, c.err
		}
		free <- c.buf
	}
	return written, nil
}

// pipeBuffers is how many buffers pipeCopy has in flight.
const pipeBuffers = 3
