package apps

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/releaser"
)

// A schedule takes a backup when it is due, checked and named after its
// time, and keeps the last BackupKeep scheduled ones; those taken by hand
// stay.
func TestDueBackups_TakesThemAndKeepsTheLastN(t *testing.T) {
	testutil.NeedTool(t, "redis-server", "redis-server")
	f := newFixture(t, releaser.Config{})
	s := f.svc
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	if err := s.CreateService(ctx, slipway.Redis, "cache", "", io.Discard); err != nil {
		t.Fatal(err)
	}
	defer s.DestroyService(context.Background(), slipway.Redis, "cache", io.Discard)
	if _, err := s.BackupService(ctx, slipway.Redis, "cache", io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleBackups(ctx, slipway.Redis, "cache", "0 3 * * *", 2, io.Discard); err != nil {
		t.Fatal(err)
	}
	next := map[string]time.Time{}
	y, m, d := time.Now().Date()
	night := time.Date(y, m, d, 2, 0, 0, 0, time.Local) // the kept ones are days later than the one by hand
	s.dueBackups(ctx, night, next)                      // seen: due at 03:00
	s.dueBackups(ctx, night.Add(59*time.Minute), next)
	if n := scheduled(s, t); n != 0 {
		t.Fatalf("%d scheduled backups before 03:00", n)
	}
	for day := range 4 {
		s.dueBackups(ctx, night.Add(time.Hour+time.Duration(day)*24*time.Hour), next)
	}
	list, err := s.ServiceBackups(ctx, slipway.Redis, "cache")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	if len(list) != 3 || !strings.Contains(list[0].Name, "T"+night.Add(time.Hour).UTC().Format("150405")+"Z-scheduled") ||
		!strings.HasPrefix(list[0].Name, "cache-"+night.Add(time.Hour+3*24*time.Hour).UTC().Format("20060102")) ||
		strings.Contains(list[2].Name, "scheduled") {
		t.Errorf("backups = %v, want the last 2 scheduled ones, newest first, and the one taken by hand", names)
	}
}

func scheduled(s *Service, t *testing.T) int {
	t.Helper()
	list, err := s.ServiceBackups(context.Background(), slipway.Redis, "cache")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range list {
		if strings.Contains(b.Name, "-scheduled") {
			n++
		}
	}
	return n
}
