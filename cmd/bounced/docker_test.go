package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// Docker does not run on the machines that build and test bounced. What can
// be proved without it is proved here: the Dockerfile's build command,
// run exactly as written, makes a static binary that works; the final
// stage is distroless, non-root, with bounced as entrypoint and a health
// check the image can run; and docker-compose.yml loads with compose's own
// loader (compose-go: the compose specification's JSON schema and its
// semantic checks) into the services and dependencies the README promises.

// repoRoot is the module root, the build context of the image.
const repoRoot = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	from, name string
	body       []instruction
}

// parseDockerfile reads the Dockerfile's stages.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages []stage
		line   string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if line == "" && (text == "" || strings.HasPrefix(text, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(text, `\`); ok {
			line += rest + " "
			continue
		}
		line += text
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) > 0:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	return stages
}

// shellWords splits a shell command line into words, honouring double and
// single quotes (enough for the Dockerfile's RUN lines; no expansion).
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestDockerfile runs the build stage's `go build` line as the Dockerfile
// writes it (its environment assignments and flags; only the output path is
// changed), checks the binary is static and runs, and checks the final
// stage.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	// The Go version of the build image is the one go.mod asks for.
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	data, _ := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if goVersion == nil || !strings.Contains(string(data), "ARG GO_VERSION="+string(goVersion[1])+"\n") {
		t.Errorf("the Dockerfile's GO_VERSION is not go.mod's go %s", goVersion[1])
	}
	if !strings.HasPrefix(build.from, "golang:") || build.name == "" {
		t.Errorf("build stage FROM %s AS %q: want a golang image, named", build.from, build.name)
	}

	var runLine string
	for _, in := range build.body {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			runLine = in.args
		}
	}
	if runLine == "" {
		t.Fatal("the build stage has no RUN ... go build")
	}
	words := shellWords(runLine)
	var env []string
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env = append(env, words[0])
		words = words[1:]
	}
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("the go build runs with %v: want CGO_ENABLED=0", env)
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" || words[len(words)-1] != "./cmd/bounced" {
		t.Fatalf("RUN line %q is not `go build ... ./cmd/bounced`", runLine)
	}
	out := filepath.Join(t.TempDir(), "bounced")
	var imageBinary string
	args := slices.Clone(words[1:])
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			imageBinary, args[i+1] = args[i+1], out
		}
	}
	if imageBinary == "" {
		t.Fatalf("RUN line %q names no -o output", runLine)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", runLine, err, b)
	}

	// Static: no program interpreter, no shared libraries.
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter: it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	if b, err := exec.Command(out, "explain", "554").CombinedOutput(); err != nil || !bytes.Contains(b, []byte("blocklisted")) {
		t.Errorf("the built binary's explain 554: %v\n%s", err, b)
	}

	// The final stage: distroless or scratch, a non-root user, the binary
	// copied from the build stage as the entrypoint, a health check it can
	// run without a shell.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s: want distroless static or scratch", final.from)
	}
	got := map[string]string{}
	for _, in := range final.body {
		got[in.cmd] = in.args
	}
	if u := strings.Split(got["USER"], ":")[0]; u == "" || u == "root" || u == "0" {
		t.Errorf("final stage USER %q: want a non-root user", got["USER"])
	}
	var entry []string
	if err := json.Unmarshal([]byte(got["ENTRYPOINT"]), &entry); err != nil || len(entry) != 1 || filepath.Base(entry[0]) != "bounced" {
		t.Errorf("ENTRYPOINT %s: want [\".../bounced\"] (%v)", got["ENTRYPOINT"], err)
	} else if want := "--from=" + build.name + " " + imageBinary + " " + entry[0]; got["COPY"] != want {
		t.Errorf("final COPY %q, want %q", got["COPY"], want)
	}
	var check []string
	hc := got["HEALTHCHECK"]
	if i := strings.Index(hc, "CMD "); i < 0 || json.Unmarshal([]byte(hc[i+4:]), &check) != nil ||
		len(check) < 2 || len(entry) == 0 || check[0] != entry[0] || check[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK %q: want CMD [\"%s\", \"healthcheck\"] in exec form (no shell in the image)", hc, strings.Join(entry, ""))
	}
	var cmdArgs []string
	if err := json.Unmarshal([]byte(got["CMD"]), &cmdArgs); err != nil || !slices.Equal(cmdArgs, []string{"run"}) {
		t.Errorf("CMD %s: want [\"run\"]", got["CMD"])
	}

	// The build context keeps what the build needs.
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		for _, need := range []string{"go.mod", "go.sum", "cmd", "dsn", "store", "migrations", "config", "imapwatch"} {
			if line == need || line == need+"/" || line == "*" {
				t.Errorf(".dockerignore leaves out %s, which the build needs", need)
			}
		}
	}
}

// loadCompose loads docker-compose.yml as docker compose would, with an
// empty environment.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(abs, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("bounced", true) })
	if err != nil {
		t.Fatalf("compose-go refuses docker-compose.yml: %v", err)
	}
	return project
}

// TestComposeFile loads docker-compose.yml with compose-go, the loader of
// docker compose (schema validation, interpolation, dependency checks),
// and checks what the README promises: bounced built from the Dockerfile,
// `migrate` run once before `run`, a health check on every long-running
// service.
func TestComposeFile(t *testing.T) {
	project := loadCompose(t)
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "dovecot", "migrate", "bounced"} {
		if _, ok := project.Services[name]; !ok {
			t.Fatalf("no service %s", name)
		}
	}
	run, migrate := project.Services["bounced"], project.Services["migrate"]
	for _, s := range []types.ServiceConfig{run, migrate} {
		if s.Build == nil || s.Build.Context != abs || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %s is not built from ./Dockerfile: %+v", s.Name, s.Build)
		}
	}
	if run.Image != migrate.Image {
		t.Errorf("bounced runs image %q, migrate %q: want the same", run.Image, migrate.Image)
	}
	if !slices.Equal(migrate.Command, types.ShellCommand{"migrate"}) || !slices.Equal(run.Command, types.ShellCommand{"run"}) {
		t.Errorf("commands: migrate %v, bounced %v", migrate.Command, run.Command)
	}
	for dep, want := range map[string]string{
		"migrate":  types.ServiceConditionCompletedSuccessfully,
		"postgres": types.ServiceConditionHealthy,
		"dovecot":  types.ServiceConditionHealthy,
	} {
		if got := run.DependsOn[dep].Condition; got != want {
			t.Errorf("bounced depends on %s with %q, want %q", dep, got, want)
		}
	}
	if got := migrate.DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("migrate depends on postgres with %q, want service_healthy", got)
	}
	if migrate.Restart != "no" {
		t.Errorf("migrate restarts %q: a one-shot must not", migrate.Restart)
	}
	for name, s := range project.Services {
		hc := s.HealthCheck
		switch {
		case name == "migrate":
			if hc == nil || !hc.Disable {
				t.Errorf("the one-shot migrate should disable the image's health check (it never serves /healthz)")
			}
		case hc == nil || hc.Disable || len(hc.Test) < 2:
			t.Errorf("service %s has no health check", name)
		}
	}
	if hc := run.HealthCheck; hc != nil && !slices.Equal([]string(hc.Test), []string{"CMD", "/usr/local/bin/bounced", "healthcheck"}) {
		t.Errorf("bounced's health check %v, want the image's `bounced healthcheck`", hc.Test)
	}
	if run.Environment["BOUNCED_CONFIG"] == nil || *run.Environment["BOUNCED_CONFIG"] != "/etc/bounced/bounced.conf" {
		t.Errorf("bounced's BOUNCED_CONFIG is not the configuration the compose file mounts")
	}
	if c, ok := project.Configs["bounced"]; !ok || !strings.Contains(c.Content, "[mailbox bounces]") {
		t.Error("the compose file carries no bounced configuration")
	}
}
