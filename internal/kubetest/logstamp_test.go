package kubetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A log's lines keep the time they were first read at, at every read;
// timestamps and sinceTime are served as a kubelet serves them, whole
// lines only.
func TestLineStamps_StableTimesAndSince(t *testing.T) {
	file := filepath.Join(t.TempDir(), "web.log")
	if err := os.WriteFile(file, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ls := newLineStamps()
	ls.stampNew(file)
	// As if read two seconds ago.
	for i, at := range ls.files[file].times {
		ls.files[file].times[i] = at.Add(-2 * time.Second)
	}
	first := ls.lines(file)
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("three\nno newline yet")
	f.Close()
	all := ls.lines(file)
	if len(all) != 3 || all[0].at != first[0].at || all[1].at != first[1].at || !all[2].at.After(all[1].at) || string(all[2].text) != "three\n" {
		t.Fatalf("lines %+v", all)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ls.serve(w, r, file, nil) }))
	defer srv.Close()
	get := func(q string) string {
		resp, err := http.Get(srv.URL + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got, want := get("timestamps=true"), all[0].at.Format(time.RFC3339Nano)+" one\n"+all[1].at.Format(time.RFC3339Nano)+" two\n"+
		all[2].at.Format(time.RFC3339Nano)+" three\n"; got != want {
		t.Errorf("timestamps=true: %q, want %q", got, want)
	}
	since := all[2].at.Truncate(time.Second)
	if got := get("sinceTime=" + since.Format(time.RFC3339)); got != "three\n" {
		t.Errorf("sinceTime: %q", got)
	}
}
