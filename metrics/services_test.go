package metrics

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestMetrics_Services(t *testing.T) {
	taken := time.Now().Add(-time.Hour).Truncate(time.Second)
	m := New(fakeSource{})
	m.WatchServices(func() []slipway.ServiceStatus {
		return []slipway.ServiceStatus{
			{Name: "main-db", Kind: slipway.Postgres, Version: "16", State: slipway.StateUp, Size: 25 << 20,
				LastBackup: &slipway.BackupInfo{Name: "main-db-x.dump", Size: 1 << 20, Taken: taken}},
			{Name: "cache", Kind: slipway.Redis, Version: "7", State: slipway.StateCrashed, Size: 1536},
			{Name: "old", Kind: slipway.Postgres, Version: "15", State: slipway.StateStopped},
			{Name: "new", Kind: slipway.Redis, Version: "7", State: slipway.StateStarting, Size: 8},
		}
	})
	body := scrape(t, m)
	for _, want := range []string{
		`slipway_service_up{kind="postgres",service="main-db"} 1`,
		`slipway_service_up{kind="redis",service="cache"} 0`,
		`slipway_service_up{kind="postgres",service="old"} 0`,
		`slipway_service_up{kind="redis",service="new"} 0`,
		`slipway_service_size_bytes{kind="postgres",service="main-db"} 2.62144e+07`,
		`slipway_service_size_bytes{kind="redis",service="cache"} 1536`,
		`slipway_service_size_bytes{kind="postgres",service="old"} 0`,
		`slipway_service_last_backup_timestamp_seconds{kind="postgres",service="main-db"} ` + strconv.FormatFloat(float64(taken.Unix()), 'g', -1, 64),
		"# TYPE slipway_service_up gauge",
		"# TYPE slipway_service_last_backup_age_seconds gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Never backed up: no backup series at all, not a made-up value.
	for _, name := range []string{"cache", "old", "new"} {
		if regexp.MustCompile(`slipway_service_last_backup_\w+\{[^}]*service="` + name + `"`).MatchString(body) {
			t.Errorf("%s was never backed up but has a backup series:\n%s", name, body)
		}
	}
	m1 := regexp.MustCompile(`slipway_service_last_backup_age_seconds\{kind="postgres",service="main-db"\} (\S+)`).FindStringSubmatch(body)
	if m1 == nil {
		t.Fatalf("no backup age for main-db:\n%s", body)
	}
	if age, err := strconv.ParseFloat(m1[1], 64); err != nil || age < 3600 || age > 3600+60 {
		t.Errorf("main-db's backup age = %s, want about 3600", m1[1])
	}
}

func TestMetrics_NoServices(t *testing.T) {
	m := New(fakeSource{})
	m.WatchServices(func() []slipway.ServiceStatus { return nil })
	if body := scrape(t, m); strings.Contains(body, "slipway_service_") {
		t.Errorf("metrics without services have service series:\n%s", body)
	}
}
