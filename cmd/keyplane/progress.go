package main

import (
	"fmt"
	"io"
	"os"
)

// progressMin is the input size from which encrypt --envelope, decrypt
// and rewrap report progress on stderr.
const progressMin = 64 << 20

// progressReader counts what is read through it and writes a line to w
// at each tenth of total (every 256 MiB when total is unknown, -1), once
// past progressMin.
type progressReader struct {
	r         io.Reader
	w         io.Writer
	verb      string
	total     int64
	done      int64
	nextShown int64
}

// newProgressReader wraps r, the input named path (whose size is taken
// when it is a regular file).
func newProgressReader(r io.Reader, path string, w io.Writer, verb string) io.Reader {
	total := int64(-1)
	if f, ok := r.(*os.File); ok && path != "" && path != "-" {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			total = fi.Size()
		}
	}
	if total >= 0 && total < progressMin {
		return r
	}
	p := &progressReader{r: r, w: w, verb: verb, total: total}
	p.nextShown = p.step()
	return p
}

func (p *progressReader) step() int64 {
	if p.total < 0 {
		return 256 << 20
	}
	return max(p.total/10, 1)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	for p.done >= p.nextShown && p.done >= progressMin {
		if p.total > 0 {
			fmt.Fprintf(p.w, "keyplane: %s: %d MiB of %d MiB (%d%%)\n", p.verb, p.done>>20, p.total>>20, p.done*100/p.total)
		} else {
			fmt.Fprintf(p.w, "keyplane: %s: %d MiB\n", p.verb, p.done>>20)
		}
		p.nextShown += p.step()
	}
	return n, err
}
