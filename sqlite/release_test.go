package sqlite

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestDB_CreateReleaseNumbersPerApp(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	for _, tt := range []struct {
		app  string
		want slipway.Version
	}{
		{"blog", 1}, {"blog", 2}, {"shop", 1}, {"blog", 3}, {"shop", 2},
	} {
		if got := mustCreate(t, db, tt.app).Version; got != tt.want {
			t.Errorf("CreateRelease(%s): version = %s, want %s", tt.app, got, tt.want)
		}
	}
}

func TestDB_CreateReleaseSetsCreatedAtFromNow(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	db.Now = func() time.Time { return at }

	r := mustCreate(t, db, "blog")
	if !r.CreatedAt.Equal(at) || r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", r.CreatedAt, at)
	}
	got, err := db.FindRelease(t.Context(), "blog", r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(at) {
		t.Errorf("stored CreatedAt = %v, want %v", got.CreatedAt, at)
	}
}

func TestDB_CreateReleaseNeverReusesFailedVersions(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	r := mustCreate(t, db, "blog")
	r.Status, r.Failure = slipway.StatusFailed, "build failed"
	if err := update(t.Context(), db, r); err != nil {
		t.Fatal(err)
	}
	if got, want := mustCreate(t, db, "blog").Version, slipway.Version(2); got != want {
		t.Errorf("version after a failed release = %s, want %s", got, want)
	}
	rs, err := db.ListReleases(t.Context(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rs), 2; got != want {
		t.Errorf("releases = %d, want %d (the failed one is kept)", got, want)
	}
}

// Writers on two handles of one file stand for two processes: one queues
// on the other's lock through SQLite's busy timeout.
func TestDB_CreateReleaseConcurrentVersionsAreDistinct(t *testing.T) {
	path := testPath(t)
	dbs := []*DB{mustOpenDB(t, path), mustOpenDB(t, path)}

	const n = 20
	versions := make([]slipway.Version, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := &slipway.Release{App: "blog", Kind: slipway.KindPush, Status: slipway.StatusBuilding}
			errs[i] = dbs[i%2].CreateRelease(t.Context(), r)
			versions[i] = r.Version
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateRelease %d: %v", i, err)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if want := slipway.Version(i + 1); v != want {
			t.Fatalf("versions = %v, want 1..%d each once", versions, n)
		}
	}
}

func TestDB_CreateReleaseInvalid(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	for _, tt := range []struct {
		name string
		r    slipway.Release
	}{
		{"empty name", slipway.Release{App: "", Kind: slipway.KindPush, Status: slipway.StatusBuilding}},
		{"bad name", slipway.Release{App: "Blog!", Kind: slipway.KindPush, Status: slipway.StatusBuilding}},
		{"empty kind", slipway.Release{App: "blog", Kind: "", Status: slipway.StatusBuilding}},
		{"bad kind", slipway.Release{App: "blog", Kind: "deploy", Status: slipway.StatusBuilding}},
		{"empty status", slipway.Release{App: "blog", Kind: slipway.KindPush, Status: ""}},
		{"bad status", slipway.Release{App: "blog", Kind: slipway.KindPush, Status: "running"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			err := db.CreateRelease(t.Context(), &r)
			if got, want := slipway.ErrorCode(err), slipway.EINVALID; got != want {
				t.Errorf("code = %q, want %q (err: %v)", got, want, err)
			}
			if r.Version != 0 || !r.CreatedAt.IsZero() {
				t.Errorf("release changed: version %s, created %v", r.Version, r.CreatedAt)
			}
		})
	}
	if got := count(t, db, "apps"); got != 0 {
		t.Errorf("apps = %d after invalid releases, want 0", got)
	}
}

func TestDB_UpdateFindRoundTrip(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	r := &slipway.Release{
		App: "blog", Kind: slipway.KindRollback, Status: slipway.StatusBuilding,
		Commit:            "0123456789abcdef0123456789abcdef01234567",
		Subject:           "Fix the footer",
		Author:            "Ada <ada@example.com>",
		PusherFingerprint: "SHA256:abc",
		PusherComment:     "ada@laptop",
		RollbackOf:        1,
		Config:            map[string]string{"A": "1"},
	}
	if err := db.CreateRelease(t.Context(), r); err != nil {
		t.Fatal(err)
	}

	started := time.Date(2026, 3, 1, 12, 0, 1, 987654321, time.UTC)
	r.Status = slipway.StatusRetired
	r.StartedAt = started
	r.FinishedAt = started.Add(time.Hour).In(time.FixedZone("X", -7200))
	r.BuildDuration = 1234567891 * time.Nanosecond
	r.Failure = "health check: GET / returned 500"
	r.Config = map[string]string{"DATABASE_URL": "postgres://x?y=1&z=\"2\"", "EMPTY": "", "UNICODE": "é☃"}
	r.Dir = "/var/lib/slipway/apps/blog/releases/2"
	r.Pruned = true
	r.LogPath = "/var/lib/slipway/apps/blog/logs/2.log"
	r.Spec = []byte{0, 1, 2, 0xff, '{', '}'}
	if err := update(t.Context(), db, r); err != nil {
		t.Fatal(err)
	}

	got, err := db.FindRelease(t.Context(), "blog", 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRelease(t, got, r)

	// Zero values go back to zero.
	r.StartedAt, r.FinishedAt, r.BuildDuration = time.Time{}, time.Time{}, 0
	r.Failure, r.Config, r.Dir, r.Pruned, r.LogPath, r.Spec = "", nil, "", false, "", nil
	if err := update(t.Context(), db, r); err != nil {
		t.Fatal(err)
	}
	got, err = db.FindRelease(t.Context(), "blog", 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRelease(t, got, r)
	if got.Config == nil {
		t.Error("Config is nil, want an empty map")
	}
}

// checkRelease compares every field of got with want.
func checkRelease(t *testing.T, got, want *slipway.Release) {
	t.Helper()
	if got.App != want.App || got.Version != want.Version || got.Kind != want.Kind || got.Status != want.Status {
		t.Errorf("release = %s %s %s %s, want %s %s %s %s",
			got.App, got.Version, got.Kind, got.Status, want.App, want.Version, want.Kind, want.Status)
	}
	if got.Commit != want.Commit || got.Subject != want.Subject || got.Author != want.Author ||
		got.PusherFingerprint != want.PusherFingerprint || got.PusherComment != want.PusherComment {
		t.Errorf("commit, pusher = %q %q %q %q %q, want %q %q %q %q %q",
			got.Commit, got.Subject, got.Author, got.PusherFingerprint, got.PusherComment,
			want.Commit, want.Subject, want.Author, want.PusherFingerprint, want.PusherComment)
	}
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"StartedAt", got.StartedAt, want.StartedAt},
		{"FinishedAt", got.FinishedAt, want.FinishedAt},
	} {
		if !tt.got.Equal(tt.want) || tt.got.IsZero() != tt.want.IsZero() {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got.BuildDuration != want.BuildDuration {
		t.Errorf("BuildDuration = %v, want %v", got.BuildDuration, want.BuildDuration)
	}
	if got.Failure != want.Failure || got.RollbackOf != want.RollbackOf {
		t.Errorf("failure, rollback of = %q %s, want %q %s", got.Failure, got.RollbackOf, want.Failure, want.RollbackOf)
	}
	if !maps.Equal(got.Config, want.Config) {
		t.Errorf("Config = %v, want %v", got.Config, want.Config)
	}
	if got.Dir != want.Dir || got.Pruned != want.Pruned || got.LogPath != want.LogPath {
		t.Errorf("dir, pruned, log = %q %v %q, want %q %v %q", got.Dir, got.Pruned, got.LogPath, want.Dir, want.Pruned, want.LogPath)
	}
	if !bytes.Equal(got.Spec, want.Spec) || (got.Spec == nil) != (want.Spec == nil) {
		t.Errorf("Spec = %q, want %q", got.Spec, want.Spec)
	}
}

func TestDB_UpdateReleaseLeavesTheRestAlone(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	r := &slipway.Release{App: "blog", Kind: slipway.KindPush, Status: slipway.StatusBuilding, Commit: "abc", Subject: "s"}
	if err := db.CreateRelease(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	created := r.CreatedAt
	up := *r
	up.Kind, up.Commit, up.Subject, up.CreatedAt, up.Status = slipway.KindConfig, "zzz", "other", time.Time{}, slipway.StatusLive
	if err := update(t.Context(), db, &up); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindRelease(t.Context(), "blog", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != slipway.KindPush || got.Commit != "abc" || got.Subject != "s" || !got.CreatedAt.Equal(created) {
		t.Errorf("immutable fields changed: %s %q %q %v", got.Kind, got.Commit, got.Subject, got.CreatedAt)
	}
	if got.Status != slipway.StatusLive {
		t.Errorf("Status = %s, want live", got.Status)
	}
}

func TestDB_UpdateReleaseErrors(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	for _, tt := range []struct {
		name string
		r    slipway.Release
		code string
	}{
		{"unknown app", slipway.Release{App: "nope", Version: 1, Status: slipway.StatusLive}, slipway.ENOTFOUND},
		{"unknown version", slipway.Release{App: "blog", Version: 2, Status: slipway.StatusLive}, slipway.ENOTFOUND},
		{"bad status", slipway.Release{App: "blog", Version: 1, Status: "up"}, slipway.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := update(t.Context(), db, &tt.r)
			if got := slipway.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (err: %v)", got, tt.code, err)
			}
		})
	}
}

func TestDB_FindReleaseNotFound(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	mustCreate(t, db, "blog")
	for _, tt := range []struct {
		app string
		v   slipway.Version
		msg string
	}{
		{"nope", 1, `no app named "nope"`},
		{"blog", 2, `app "blog" has no release v2`},
		{"blog", 0, `app "blog" has no release v0`},
	} {
		_, err := db.FindRelease(t.Context(), tt.app, tt.v)
		if got, want := slipway.ErrorCode(err), slipway.ENOTFOUND; got != want {
			t.Errorf("FindRelease(%s, %s): code = %q, want %q (err: %v)", tt.app, tt.v, got, want, err)
		}
		if got := slipway.ErrorMessage(err); got != tt.msg {
			t.Errorf("FindRelease(%s, %s): message = %q, want %q", tt.app, tt.v, got, tt.msg)
		}
	}
}

func TestDB_ListReleasesNewestFirst(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	for _, app := range []string{"blog", "shop", "blog", "blog"} {
		mustCreate(t, db, app)
	}
	rs, err := db.ListReleases(t.Context(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	var got []slipway.Version
	for _, r := range rs {
		if r.App != "blog" {
			t.Errorf("release of %s in blog's list", r.App)
		}
		got = append(got, r.Version)
	}
	if want := []slipway.Version{3, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("versions = %v, want %v", got, want)
	}
	if !rs[0].CreatedAt.After(rs[2].CreatedAt) {
		t.Errorf("v3 created %v, not after v1 %v", rs[0].CreatedAt, rs[2].CreatedAt)
	}

	if _, err := db.ListReleases(t.Context(), "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("ListReleases(nope): err = %v, want ENOTFOUND", err)
	}
}

func TestDB_ListAppsSorted(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	apps, err := db.ListApps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if apps == nil || len(apps) != 0 {
		t.Errorf("ListApps of an empty history = %#v, want an empty slice", apps)
	}
	for _, app := range []string{"shop", "blog", "api", "blog"} {
		mustCreate(t, db, app)
	}
	apps, err = db.ListApps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"api", "blog", "shop"}; !slices.Equal(apps, want) {
		t.Errorf("ListApps = %v, want %v", apps, want)
	}
}

func TestDB_DeleteAppCascades(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	mustCreate(t, db, "blog")
	mustCreate(t, db, "blog")
	mustCreate(t, db, "shop")
	ins := []slipway.InstanceRecord{{ID: "web.1", PID: 10, Port: 5000}}
	for _, app := range []string{"blog", "shop"} {
		if err := db.SetInstances(ctx, app, 1, ins); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.DeleteApp(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ListReleases(ctx, "blog"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("ListReleases after delete: err = %v, want ENOTFOUND", err)
	}
	if _, err := db.ListInstances(ctx, "blog"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("ListInstances after delete: err = %v, want ENOTFOUND", err)
	}
	if got, want := count(t, db, "releases"), 1; got != want {
		t.Errorf("releases = %d, want %d (shop's)", got, want)
	}
	if got, want := count(t, db, "instances"), 1; got != want {
		t.Errorf("instances = %d, want %d (shop's)", got, want)
	}
	if err := db.DeleteApp(ctx, "blog"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("second DeleteApp: err = %v, want ENOTFOUND", err)
	}
	if got, want := mustCreate(t, db, "blog").Version, slipway.Version(1); got != want {
		t.Errorf("version of a re-created app = %s, want %s", got, want)
	}
}

// update stores every mutable field of r, as one patch.
func update(ctx context.Context, db *DB, r *slipway.Release) error {
	_, err := db.UpdateRelease(ctx, r.App, r.Version, slipway.ReleaseUpdate{
		Status: &r.Status, StartedAt: &r.StartedAt, FinishedAt: &r.FinishedAt, BuildDuration: &r.BuildDuration,
		Failure: &r.Failure, Config: &r.Config, Dir: &r.Dir, Pruned: &r.Pruned, LogPath: &r.LogPath, Spec: &r.Spec,
	})
	return err
}

func TestDB_UpdateReleasePatchesOnlyWhatItNames(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	r := mustCreate(t, db, "blog")
	if _, err := db.UpdateRelease(t.Context(), "blog", r.Version, slipway.ReleaseUpdate{Dir: slipway.Set("/rel/v1")}); err != nil {
		t.Fatal(err)
	}
	got, err := db.UpdateRelease(t.Context(), "blog", r.Version, slipway.Failed(time.Now(), "boom"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != "/rel/v1" || got.Status != slipway.StatusFailed || got.Failure != "boom" || got.FinishedAt.IsZero() {
		t.Errorf("after two patches: dir %q, status %s, failure %q, finished %v", got.Dir, got.Status, got.Failure, got.FinishedAt)
	}
}

func TestDB_RenameApp(t *testing.T) {
	db := mustOpenDB(t, testPath(t))
	ctx := t.Context()
	r := mustCreate(t, db, "shop")
	if _, err := db.UpdateRelease(ctx, "shop", r.Version, slipway.ReleaseUpdate{Dir: slipway.Set("/data/apps/shop/releases/v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetAppConfig(ctx, "shop", map[string]string{"A": "1"}, nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "blog")
	moved := func(r *slipway.Release) slipway.ReleaseUpdate {
		return slipway.ReleaseUpdate{Dir: slipway.Set(strings.Replace(r.Dir, "/shop/", "/store/", 1))}
	}
	if err := db.RenameApp(ctx, "shop", "blog", moved); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Errorf("renaming onto an existing app: %v", err)
	}
	if err := db.RenameApp(ctx, "nope", "other", moved); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("renaming an unknown app: %v", err)
	}
	if err := db.RenameApp(ctx, "shop", "store", moved); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ListReleases(ctx, "shop"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("the old name still has a history: %v", err)
	}
	rels, err := db.ListReleases(ctx, "store")
	if err != nil || len(rels) != 1 || rels[0].Dir != "/data/apps/store/releases/v1" || rels[0].App != "store" {
		t.Fatalf("the new name's history = %+v, %v", rels, err)
	}
	if cfg, err := db.AppConfig(ctx, "store"); err != nil || cfg["A"] != "1" {
		t.Errorf("the config did not follow: %v, %v", cfg, err)
	}
}
