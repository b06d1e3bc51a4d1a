package builder

import (
	"bytes"
	"errors"
	"testing"
)

func TestStream_IndentsCommandOutput(t *testing.T) {
	for _, tt := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"lines", []string{"a\nb\n"}, "       a\n       b\n"},
		{"line split across writes", []string{"ab", "c\nd", "e\n"}, "       abc\n       de\n"},
		{"blank lines stay blank", []string{"a\n\nb\n"}, "       a\n\n       b\n"},
		{"carriage return redraws indented", []string{"10%\r50%\r\n"}, "       10%\r       50%\r\n"},
		{"unfinished line is ended", []string{"partial"}, "       partial\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := newStream(&buf)
			for _, w := range tt.writes {
				if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			s.endLine()
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStream_HeaderStartsOnItsOwnLine(t *testing.T) {
	var buf bytes.Buffer
	s := newStream(&buf)
	s.header("Detected %s", "Go app")
	_, _ = s.Write([]byte("no newline"))
	s.header("Running go build")
	s.info("done")
	want := "-----> Detected Go app\n       no newline\n-----> Running go build\n       done\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// failingWriter fails every write after the first n.
type failingWriter struct {
	n      int
	writes int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.n {
		return 0, errors.New("client went away")
	}
	return len(p), nil
}

func TestStream_KeepsAcceptingAfterTheClientGoes(t *testing.T) {
	w := &failingWriter{n: 1}
	s := newStream(w)
	for range 3 {
		if n, err := s.Write([]byte("line\n")); n != 5 || err != nil {
			t.Fatalf("Write = %d, %v, want 5, nil", n, err)
		}
	}
	s.header("after")
	if got, want := w.writes, 2; got != want {
		t.Errorf("writes reaching the failed writer = %d, want %d (none after the failure)", got, want)
	}
}

func TestStream_NilWriterDiscards(t *testing.T) {
	s := newStream(nil)
	if _, err := s.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	s.header("ok")
}
