package stream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// The trailers that carry the verdict.
const (
	TrailerExit  = "Slipway-Exit"  // "0" or "1"
	TrailerError = "Slipway-Error" // the error a user may see, on failure
)

// Serve answers with f's output, streamed, and f's verdict in the
// trailers: exit 0, or 1 with message(err). It returns f's error.
func Serve(w http.ResponseWriter, f func(out io.Writer) error, message func(error) string) error {
	w.Header().Set("Trailer", TrailerExit+", "+TrailerError)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	err := f(&flushWriter{w: w, rc: http.NewResponseController(w)})
	if err != nil {
		w.Header().Set(TrailerExit, "1")
		w.Header().Set(TrailerError, message(err))
		return err
	}
	w.Header().Set(TrailerExit, "0")
	return nil
}

// ErrNoVerdict means the answer ended without a verdict: the action was
// cut off.
var ErrNoVerdict = errors.New("the command did not finish")

// Read copies resp's body to out as it arrives and returns the verdict:
// nil for exit 0, else an error with the trailer's message.
func Read(resp *http.Response, out io.Writer) error {
	if _, err := io.Copy(out, resp.Body); err != nil {
		return ErrNoVerdict // the connection broke before the verdict
	}
	switch resp.Trailer.Get(TrailerExit) {
	case "0":
		return nil
	case "":
		return ErrNoVerdict
	}
	if msg := resp.Trailer.Get(TrailerError); msg != "" {
		return errors.New(msg)
	}
	return ErrNoVerdict
}

// flushWriter sends every write to the client at once.
type flushWriter struct {
	mu sync.Mutex
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	if err != nil {
		return n, fmt.Errorf("client gone: %w", err)
	}
	return n, nil
}
