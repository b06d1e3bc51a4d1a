package sqlite

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

// mustCreateService records a PostgreSQL service named name on port, with
// no uid of its own, and returns it.
func mustCreateService(t *testing.T, db *DB, name string, port int) *slipway.BackingService {
	t.Helper()
	s := &slipway.BackingService{Name: name, Kind: slipway.Postgres, Version: "15", Port: port, Password: "pw-" + name}
	if err := db.CreateService(t.Context(), s, slipway.UIDRange{}); err != nil {
		t.Fatalf("CreateService(%s): %v", name, err)
	}
	return s
}

// fullService returns a PostgreSQL service "db" with every field set but
// its uid and time.
func fullService() *slipway.BackingService {
	return &slipway.BackingService{
		Name: "db", Kind: slipway.Postgres, Version: "15", Port: 5433, Password: "secret",
		BackupSchedule: "0 3 * * *", BackupKeep: 7,
		Running: slipway.ServiceProcess{PID: 42, StartTicks: 1 << 40, Cgroup: "/slipway/services/db", TmpDir: "/tmp/x", LogOffset: 9},
	}
}

// mustLink links app to service through v.
func mustLink(t *testing.T, db *DB, service, app, v string) {
	t.Helper()
	if err := db.AddServiceLink(t.Context(), slipway.ServiceLink{Service: service, App: app, Var: v}); err != nil {
		t.Fatalf("AddServiceLink(%s, %s, %s): %v", service, app, v, err)
	}
}

func TestDB_CreateFindListServices(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	s := fullService()
	if err := db.CreateService(ctx, s, slipway.UIDRange{}); err != nil {
		t.Fatal(err)
	}
	if s.CreatedAt.IsZero() || s.UID != 0 {
		t.Errorf("after create: created %v, uid %d; want a time and no uid", s.CreatedAt, s.UID)
	}
	got, err := db.FindService(ctx, "db")
	if err != nil || *got != *s {
		t.Fatalf("FindService = %+v, %v; want %+v", got, err, s)
	}
	mustCreateService(t, db, "cache", 6380)
	list, err := db.ListServices(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "cache" || list[1].Name != "db" {
		t.Fatalf("ListServices = %+v, %v; want cache, db", list, err)
	}

	_, err = db.FindService(ctx, "nope")
	if slipway.ErrorCode(err) != slipway.ENOTFOUND || err.Error() != `no service named "nope"` {
		t.Errorf("FindService of an unknown service: %v", err)
	}
	err = db.CreateService(ctx, &slipway.BackingService{Name: "db", Kind: slipway.Redis, Port: 6390, Password: "x"}, slipway.UIDRange{})
	if slipway.ErrorCode(err) != slipway.ECONFLICT || err.Error() != `service "db" exists already` {
		t.Errorf("a second service named db: %v", err)
	}
	err = db.CreateService(ctx, &slipway.BackingService{Name: "other", Kind: slipway.Redis, Port: 5433, Password: "x"}, slipway.UIDRange{})
	if slipway.ErrorCode(err) != slipway.ECONFLICT || !strings.Contains(err.Error(), `port 5433 is service "db"'s`) {
		t.Errorf("a second service on db's port: %v", err)
	}
	for _, bad := range []slipway.BackingService{
		{Name: "Bad_Name", Kind: slipway.Postgres, Port: 1, Password: "x"},
		{Name: "mysql", Kind: "mysql", Port: 1, Password: "x"},
		{Name: "noport", Kind: slipway.Redis, Password: "x"},
		{Name: "bigport", Kind: slipway.Redis, Port: 65536, Password: "x"},
		{Name: "nopw", Kind: slipway.Redis, Port: 1},
		{Name: "keep", Kind: slipway.Redis, Port: 1, Password: "x", BackupKeep: -1},
	} {
		if err := db.CreateService(ctx, &bad, slipway.UIDRange{}); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("CreateService(%+v) = %v, want EINVALID", bad, err)
		}
	}
	if n := count(t, db, "services"); n != 2 {
		t.Errorf("%d services after the refused ones, want 2", n)
	}
	if list, err := mustOpenDB(t, testPath(t)).ListServices(ctx); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListServices of a new database = %#v, %v; want empty, not nil", list, err)
	}
}

func TestDB_UpdateServiceSetsOnlyItsFields(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	s := fullService()
	if err := db.CreateService(ctx, s, slipway.UIDRange{}); err != nil {
		t.Fatal(err)
	}
	want := *s
	for _, tc := range []struct {
		name string
		u    slipway.ServiceUpdate
		set  func(*slipway.BackingService)
	}{
		{"nothing", slipway.ServiceUpdate{}, func(*slipway.BackingService) {}},
		{"stopped", slipway.ServiceUpdate{Stopped: slipway.Set(true)}, func(s *slipway.BackingService) { s.Stopped = true }},
		{"schedule", slipway.ServiceUpdate{BackupSchedule: slipway.Set("")}, func(s *slipway.BackingService) { s.BackupSchedule = "" }},
		{"keep", slipway.ServiceUpdate{BackupKeep: slipway.Set(3)}, func(s *slipway.BackingService) { s.BackupKeep = 3 }},
		{"running", slipway.ServiceUpdate{Running: &slipway.ServiceProcess{PID: 7, StartTicks: 1 << 50}}, func(s *slipway.BackingService) {
			s.Running = slipway.ServiceProcess{PID: 7, StartTicks: 1 << 50}
		}},
		{"limits", slipway.ServiceUpdate{Limits: &slipway.Limits{Memory: 256 << 20, CPU: 0.5, PIDs: 64}}, func(s *slipway.BackingService) {
			s.Limits = slipway.Limits{Memory: 256 << 20, CPU: 0.5, PIDs: 64}
		}},
		{"none running", slipway.ServiceUpdate{Running: &slipway.ServiceProcess{}}, func(s *slipway.BackingService) { s.Running = slipway.ServiceProcess{} }},
		{"started", slipway.ServiceUpdate{Stopped: slipway.Set(false), Running: &slipway.ServiceProcess{PID: 8, Cgroup: "/cg2"}}, func(s *slipway.BackingService) {
			s.Stopped, s.Running = false, slipway.ServiceProcess{PID: 8, Cgroup: "/cg2"}
		}},
	} {
		tc.set(&want)
		got, err := db.UpdateService(ctx, "db", tc.u)
		if err != nil || *got != want {
			t.Fatalf("%s: UpdateService = %+v, %v; want %+v", tc.name, got, err, want)
		}
		if found, _ := db.FindService(ctx, "db"); *found != want {
			t.Fatalf("%s: then FindService = %+v; want %+v", tc.name, found, want)
		}
	}
	if _, err := db.UpdateService(ctx, "nope", slipway.ServiceUpdate{Stopped: slipway.Set(true)}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("updating an unknown service: %v", err)
	}
	if _, err := db.UpdateService(ctx, "nope", slipway.ServiceUpdate{}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("an empty update of an unknown service: %v", err)
	}
	if _, err := db.UpdateService(ctx, "db", slipway.ServiceUpdate{BackupKeep: slipway.Set(-1)}); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("keeping -1 backups: %v", err)
	}
}

func TestDB_ServiceUIDsShareTheAppsAndAreNeverReused(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	r := slipway.UIDRange{Base: 5000, Count: 100}
	mustCreate(t, db, "shop")
	if uid, err := db.AppUID(ctx, "shop", r); err != nil || uid != 5000 {
		t.Fatalf("shop's uid = %d, %v", uid, err)
	}
	s := &slipway.BackingService{Name: "db", Kind: slipway.Postgres, Port: 5433, Password: "x"}
	if err := db.CreateService(ctx, s, r); err != nil || s.UID != 5001 {
		t.Fatalf("db's uid = %d, %v; want 5001, the next after shop's", s.UID, err)
	}
	if got, _ := db.FindService(ctx, "db"); got.UID != 5001 {
		t.Errorf("FindService's uid = %d", got.UID)
	}
	var owner string
	if err := db.db.QueryRow(`SELECT app FROM identities WHERE uid = 5001`).Scan(&owner); err != nil || owner != "service:db" {
		t.Errorf("identities' owner of 5001 = %q, %v", owner, err)
	}
	mustCreate(t, db, "blog")
	if uid, _ := db.AppUID(ctx, "blog", r); uid != 5002 {
		t.Errorf("blog's uid = %d, want 5002: the service's is taken", uid)
	}
	if err := db.DeleteService(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	again := &slipway.BackingService{Name: "db", Kind: slipway.Postgres, Port: 5433, Password: "x"}
	if err := db.CreateService(ctx, again, r); err != nil || again.UID != 5003 {
		t.Errorf("a new db's uid = %d, %v; want a fresh 5003", again.UID, err)
	}
	if lo, hi, ok, err := db.UIDSpan(ctx); err != nil || !ok || lo != 5000 || hi != 5003 {
		t.Errorf("UIDSpan = %d-%d %v %v; want the services' uids in it", lo, hi, ok, err)
	}
	mustCreateService(t, db, "plain", 5434) // no range: no uid, no identity
	if n := count(t, db, "identities"); n != 4 {
		t.Errorf("%d identities, want 4", n)
	}

	taken := map[int]bool{5004: true}
	tight := slipway.UIDRange{Base: 5000, Count: 6, Free: func(uid int) bool { return !taken[uid] }}
	c := &slipway.BackingService{Name: "cache", Kind: slipway.Redis, Port: 6380, Password: "x"}
	if err := db.CreateService(ctx, c, tight); err != nil || c.UID != 5005 {
		t.Errorf("cache's uid = %d, %v; want 5005, the first nobody has", c.UID, err)
	}
	err := db.CreateService(ctx, &slipway.BackingService{Name: "late", Kind: slipway.Redis, Port: 6381, Password: "x"}, tight)
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "no uid left for service late") {
		t.Errorf("range used up: %v", err)
	}
	if _, err := db.FindService(ctx, "late"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("a refused service was recorded: %v", err)
	}
}

func TestDB_ServiceLinks(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	for _, app := range []string{"shop", "blog", "wiki"} {
		mustCreate(t, db, app)
	}
	mustCreateService(t, db, "db", 5433)
	mustCreateService(t, db, "analytics", 5434)
	mustLink(t, db, "db", "shop", "DATABASE_URL")
	mustLink(t, db, "db", "blog", "DATABASE_URL")
	mustLink(t, db, "analytics", "shop", "DATABASE_ANALYTICS_URL")

	for _, tc := range []struct {
		l    slipway.ServiceLink
		code string
		msg  string
	}{
		{slipway.ServiceLink{Service: "db", App: "shop", Var: "DATABASE_OTHER_URL"}, slipway.ECONFLICT, `shop is linked to "db" already`},
		{slipway.ServiceLink{Service: "analytics", App: "blog", Var: "DATABASE_URL"}, slipway.ECONFLICT,
			`blog's DATABASE_URL is set by its link to "db": unlink it first (postgres:unlink db blog)`},
		{slipway.ServiceLink{Service: "nope", App: "shop", Var: "X_URL"}, slipway.ENOTFOUND, `no service named "nope"`},
		{slipway.ServiceLink{Service: "db", App: "nope", Var: "X_URL"}, slipway.ENOTFOUND, `no app named "nope"`},
		{slipway.ServiceLink{Service: "db", App: "wiki", Var: "bad var"}, slipway.EINVALID, "config key"},
	} {
		err := db.AddServiceLink(ctx, tc.l)
		if slipway.ErrorCode(err) != tc.code || !strings.Contains(fmtErr(err), tc.msg) {
			t.Errorf("AddServiceLink(%+v) = %v; want %s with %q", tc.l, err, tc.code, tc.msg)
		}
	}

	all, err := db.ServiceLinks(ctx, "")
	want := []slipway.ServiceLink{
		{Service: "analytics", App: "shop", Var: "DATABASE_ANALYTICS_URL"},
		{Service: "db", App: "blog", Var: "DATABASE_URL"},
		{Service: "db", App: "shop", Var: "DATABASE_URL"},
	}
	if err != nil || !slices.Equal(all, want) {
		t.Errorf("ServiceLinks(\"\") = %+v, %v; want %+v", all, err, want)
	}
	if got, err := db.ServiceLinks(ctx, "db"); err != nil || !slices.Equal(got, want[1:]) {
		t.Errorf("ServiceLinks(db) = %+v, %v", got, err)
	}
	if got, err := db.AppServiceLinks(ctx, "shop"); err != nil || !slices.Equal(got, []slipway.ServiceLink{want[0], want[2]}) {
		t.Errorf("AppServiceLinks(shop) = %+v, %v", got, err)
	}
	if got, err := db.AppServiceLinks(ctx, "wiki"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("AppServiceLinks(wiki) = %#v, %v; want empty, not nil", got, err)
	}
	if _, err := db.AppServiceLinks(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("AppServiceLinks of an unknown app: %v", err)
	}
	if _, err := db.ServiceLinks(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("ServiceLinks of an unknown service: %v", err)
	}

	err = db.DeleteService(ctx, "db")
	if slipway.ErrorCode(err) != slipway.ECONFLICT || err.Error() != `"db" is still linked to blog, shop: unlink them first (postgres:unlink db APP)` {
		t.Errorf("deleting a linked service: %v", err)
	}
	if err := db.DeleteService(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("deleting an unknown service: %v", err)
	}
	if err := db.RemoveServiceLink(ctx, "db", "wiki"); slipway.ErrorCode(err) != slipway.ENOTFOUND || err.Error() != `wiki is not linked to "db"` {
		t.Errorf("removing a link wiki lacks: %v", err)
	}
	if err := db.RemoveServiceLink(ctx, "nope", "shop"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("removing a link to an unknown service: %v", err)
	}
	if err := db.RemoveServiceLink(ctx, "db", "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("removing an unknown app's link: %v", err)
	}
	if err := db.RemoveServiceLink(ctx, "db", "blog"); err != nil {
		t.Fatal(err)
	}
	err = db.DeleteService(ctx, "db")
	if slipway.ErrorCode(err) != slipway.ECONFLICT || !strings.Contains(err.Error(), "linked to shop: unlink it first") {
		t.Errorf("deleting a service linked to one app: %v", err)
	}
	mustLink(t, db, "analytics", "blog", "DATABASE_URL") // blog's var is free again
	if err := db.RemoveServiceLink(ctx, "db", "shop"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteService(ctx, "db"); err != nil {
		t.Fatalf("deleting an unlinked service: %v", err)
	}
	if _, err := db.FindService(ctx, "db"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
	if got, _ := db.ServiceLinks(ctx, ""); len(got) != 2 {
		t.Errorf("analytics' links after db's delete = %+v", got)
	}
}

func TestDB_ServiceLinksFollowTheApp(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "shop")
	mustCreateService(t, db, "db", 5433)
	mustLink(t, db, "db", "shop", "DATABASE_URL")
	moved := func(*slipway.Release) slipway.ReleaseUpdate { return slipway.ReleaseUpdate{} }
	if err := db.RenameApp(ctx, "shop", "store", moved); err != nil {
		t.Fatal(err)
	}
	got, err := db.ServiceLinks(ctx, "db")
	if err != nil || !slices.Equal(got, []slipway.ServiceLink{{Service: "db", App: "store", Var: "DATABASE_URL"}}) {
		t.Errorf("links after the rename = %+v, %v", got, err)
	}
	if err := db.RemoveServiceLink(ctx, "db", "shop"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("the old name still has a link: %v", err)
	}
	if err := db.DeleteApp(ctx, "store"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ServiceLinks(ctx, "db"); err != nil || len(got) != 0 {
		t.Errorf("links after the app's delete = %+v, %v", got, err)
	}
	if n := count(t, db, "service_links"); n != 0 {
		t.Errorf("%d service_links rows after the app's delete", n)
	}
	mustCreate(t, db, "store") // a new app of the name is not linked
	if got, _ := db.AppServiceLinks(ctx, "store"); len(got) != 0 {
		t.Errorf("a new app named store inherited %+v", got)
	}
	if err := db.DeleteService(ctx, "db"); err != nil {
		t.Errorf("deleting the service of a deleted app: %v", err)
	}
}

// fmtErr returns err's message, "" for nil.
func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
