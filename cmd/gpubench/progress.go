package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports the sweep's steps: a bar on a terminal, nothing otherwise.
type progress interface {
	step(desc string)       // one step is starting; desc says which
	add(n int, desc string) // n steps were skipped
	finish()
}

type silent struct{}

func (silent) step(string)     {}
func (silent) add(int, string) {}
func (silent) finish()         {}

type bar struct{ b *progressbar.ProgressBar }

func (p bar) step(desc string) {
	p.b.Describe(desc)
	p.b.Add(1)
}

func (p bar) add(n int, desc string) {
	if desc != "" {
		p.b.Describe(desc)
	}
	p.b.Add(n)
}

func (p bar) finish() {
	p.b.Finish()
	p.b.Clear()
}

// isTerminal reports whether w is a terminal (a progress bar there helps; in a file or pipe it is noise).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer, total int, show bool) progress {
	if !show || total <= 0 {
		return silent{}
	}
	return bar{progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
	)}
}
