package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/oidc-slo/slo/internal/readme"
)

// storesProgram is the second file of the program TestInstallFromProxy
// builds: README.md's program is the first. It configures the middleware
// with the shared stores (main does not call it: building is the test).
const storesProgram = `package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// sharedStores sets up cfg for several replicas: sessions in Redis,
// login and logout states in PostgreSQL.
func sharedStores(ctx context.Context, cfg *middleware.Config) ([]sessionstore.Store, error) {
	sessions, err := redisstore.New(redisstore.Config{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})})
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		return nil, err
	}
	if err := pgstore.CreateSingleUseSchema(ctx, pool, ""); err != nil {
		return nil, err
	}
	used, err := pgstore.NewSingleUse(pgstore.SingleUseConfig{Pool: pool})
	if err != nil {
		return nil, err
	}
	pgSessions, err := pgstore.New(pgstore.Config{Pool: pool})
	if err != nil {
		return nil, err
	}
	cfg.Store, cfg.SingleUse = sessions, used
	return []sessionstore.Store{sessions, pgSessions}, nil
}

var _ = sharedStores
`

// TestInstallFromProxy: a user's module, outside the repository and with
// no go.work, gets the published modules at Next from a module proxy (a
// file-system one serving the working tree, see WriteProxy and GoEnv) with
// go get, and builds README.md's program ("Use it in your application")
// plus a file that sets up a redisstore and a pgstore store. The binary
// holds exactly the proxy's slo modules, and getting the core alone leaves
// the user's go line at the core's. Each other published module is also
// got alone into a new module, so that nothing else raises the core's
// version above one it requires that no proxy has (v0.0.0, say). (A
// replace in a published go.mod cannot show here, since the user's go
// command ignores it: TestRequirements refuses it.)
func TestInstallFromProxy(t *testing.T) {
	_, mods := repo(t)
	pub := publishedModules(mods)
	goBin, env, sums := proxyEnv(t)

	for _, m := range pub[1:] {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/alone\n\ngo "+pub[0].File.Go.Version+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		goRun(t, dir, env, goBin, "get", m.Path+"@"+Next)
	}

	src, err := readme.Program("Use it in your application")
	if err != nil {
		t.Fatal(err)
	}
	goLine := pub[0].File.Go.Version
	app := t.TempDir()
	for name, data := range map[string]string{
		"go.mod":    "module example.com/app\n\ngo " + goLine + "\n",
		"main.go":   src,
		"stores.go": storesProgram,
	} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	goRun(t, app, env, goBin, "get", CorePath+"@"+Next)
	if got := readGoLine(t, app); got != goLine {
		t.Errorf("go get %s@%s changed the user's go line from %s to %s", CorePath, Next, goLine, got)
	}
	get := []string{"get"}
	for _, m := range pub[1:] {
		get = append(get, m.Path+"@"+Next)
	}
	goRun(t, app, env, goBin, get...)
	bin := filepath.Join(app, "app")
	goRun(t, app, env, goBin, "build", "-trimpath", "-o", bin, ".")

	// go version -m lists the modules built in: "dep <path> <version> <h1>".
	out := goRun(t, app, env, goBin, "version", "-m", bin)
	built := make(map[string]string)
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 4 && (f[0] == "dep" || f[0] == "=>") && IsSLO(f[1]) {
			built[f[1]] = f[2] + " " + f[3]
		}
		if len(f) >= 2 && f[0] == "=>" {
			t.Errorf("the build replaces a module: %s", strings.TrimSpace(line))
		}
	}
	for _, m := range pub {
		if want := Next + " " + sums[m.Path]; built[m.Path] != want {
			t.Errorf("the program holds %s %q, want the proxy's %q", m.Path, built[m.Path], want)
		}
	}
	if len(built) != len(pub) {
		t.Errorf("the program holds the slo modules %v, want %d", built, len(pub))
	}
	if t.Failed() {
		gomod, _ := os.ReadFile(filepath.Join(app, "go.mod"))
		t.Logf("go.mod:\n%s\ngo version -m:\n%s", gomod, out)
	}
}

func readGoLine(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Go == nil {
		return ""
	}
	return f.Go.Version
}
