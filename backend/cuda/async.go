package cuda

import (
	"errors"
	"runtime"
)

// An error of work queued on the stream (a failed launch, a copy the device could not do) is reported
// by the next synchronising call: Sync, Download, TimeDevice or Close. A call that waits for the device
// without being one (Free; Upload, when it waits for a staging chunk) keeps the error it meets for that
// call.

// keepAsyncErr keeps err, an error of asynchronous work met by a call that does not report such errors,
// for the next synchronising call (the first one kept wins, as Sync reports the first error).
func (b *Backend) keepAsyncErr(err error) {
	if err == nil {
		return
	}
	b.asyncMu.Lock()
	defer b.asyncMu.Unlock()
	if b.asyncErr == nil {
		b.asyncErr = err
	}
}

// reportAsync is what a synchronising call (Sync, Download, TimeDevice, Close) returns after its wait
// ended with err: the kept error first, then err.
func (b *Backend) reportAsync(err error) error {
	b.asyncMu.Lock()
	kept := b.asyncErr
	b.asyncErr = nil
	b.asyncMu.Unlock()
	if kept != nil && err != nil && kept.Error() == err.Error() {
		return err // a sticky error, met twice
	}
	return errors.Join(kept, err)
}

// Sync waits for the stream and reports the first error of asynchronous work.
func (b *Backend) Sync() (err error) {
	defer func() { err = b.wrap("Sync", err) }()
	l, err := b.owner.Begin("Sync")
	if err != nil {
		return err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.reportAsync(b.drv.StreamSynchronize(b.stream))
}
