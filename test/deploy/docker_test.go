package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// dockerInstruction is one Dockerfile instruction, continuation lines joined.
type dockerInstruction struct {
	Cmd  string // upper case: FROM, RUN, COPY, ...
	Args string
}

type dockerStage struct {
	Image, Name  string
	Instructions []dockerInstruction
}

func (s dockerStage) all(cmd string) []string {
	var out []string
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

// parseDockerfile reads the instructions of a Dockerfile, stage by stage.
func parseDockerfile(t *testing.T, text string) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var logical string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && logical == "") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			logical += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		logical += trimmed
		cmd, args, _ := strings.Cut(logical, " ")
		logical = ""
		in := dockerInstruction{Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " ")}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := dockerStage{Image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		require.NotEmpty(t, stages, "%s before FROM", in.Cmd)
		stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
	}
	return stages
}

func dockerfileStages(t *testing.T) (build, final dockerStage) {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "Dockerfile"))
	require.NoError(t, err)
	stages := parseDockerfile(t, string(b))
	require.Len(t, stages, 2, "a build stage and a final stage")
	return stages[0], stages[1]
}

// makeBuildOutput returns the file `make build` writes, from the commands it
// would run.
func makeBuildOutput(t *testing.T) (string, []string) {
	t.Helper()
	// --no-print-directory: under `make test` this runs as a sub-make, which
	// would otherwise add "Entering/Leaving directory" lines.
	cmd := exec.Command("make", "--no-print-directory", "-n", "build")
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make -n build:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var bin string
	for _, l := range lines {
		f := strings.Fields(l)
		if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
			bin = f[i+1]
		}
	}
	require.NotEmpty(t, bin, "make -n build names no -o output:\n%s", out)
	return bin, lines
}

func TestDockerBuildStageRunsMakeBuild(t *testing.T) {
	build, final := dockerfileStages(t)
	require.Equal(t, "build", build.Name)

	// The Go of the build image is the one go.mod asks for.
	b, err := os.ReadFile(repoPath(t, "go.mod"))
	require.NoError(t, err)
	mod, err := modfile.Parse("go.mod", b, nil)
	require.NoError(t, err)
	parts := strings.Split(mod.Go.Version, ".")
	assert.Equal(t, "golang:"+parts[0]+"."+parts[1], build.Image)

	// The binary is built by `make build` and by nothing else.
	runs := build.all("RUN")
	assert.Contains(t, runs, "make build")
	bin, commands := makeBuildOutput(t)
	for _, r := range runs {
		assert.NotContains(t, r, "go build", "the image must build the binary as `make build` does, through make")
	}
	for _, c := range commands {
		assert.True(t, strings.HasPrefix(c, "go "), "make build runs %q: the build image has only Go and make", c)
	}
	// The final stage has no C library: cgo must be off while make runs.
	assert.Contains(t, build.all("ENV"), "CGO_ENABLED=0")

	// The final stage takes the file make wrote.
	workdirs := build.all("WORKDIR")
	require.Len(t, workdirs, 1)
	src := path.Join(workdirs[0], bin)
	var dest string
	for _, c := range final.all("COPY") {
		f := strings.Fields(c)
		if slices.Contains(f, "--from=build") && f[len(f)-2] == src {
			dest = f[len(f)-1]
		}
	}
	require.NotEmpty(t, dest, "the final stage copies %s (what make build writes) from the build stage", src)

	var entrypoint, cmd []string
	require.NoError(t, json.Unmarshal([]byte(final.all("ENTRYPOINT")[0]), &entrypoint))
	require.NoError(t, json.Unmarshal([]byte(final.all("CMD")[0]), &cmd))
	assert.Equal(t, []string{dest}, entrypoint)
	assert.Equal(t, []string{"--config", "/etc/otelcol-dynamo/config.yaml"}, cmd)
}

func TestDockerFinalStage(t *testing.T) {
	build, final := dockerfileStages(t)

	// CA certificates.
	assert.Contains(t, final.all("COPY"), "--from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt")

	// A non-root user, numeric so that Kubernetes' runAsNonRoot can check it.
	users := final.all("USER")
	require.Len(t, users, 1)
	uid, gid, _ := strings.Cut(users[0], ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err, "USER %s is not numeric", users[0])
	assert.NotZero(t, n)

	// OTLP and health ports.
	var ports []string
	for _, e := range final.all("EXPOSE") {
		ports = append(ports, strings.Fields(e)...)
	}
	for _, p := range []string{"4317", "4318", "13133"} {
		assert.Contains(t, ports, p)
	}

	// The gateway configuration at the documented path: copied in the build
	// stage under a root folder that the final stage copies to /.
	cp := regexp.MustCompile(`cp configs/otelcol-dynamo\.yaml (\S+)/etc/otelcol-dynamo/config\.yaml`)
	var rootfs string
	for _, r := range build.all("RUN") {
		if m := cp.FindStringSubmatch(r); m != nil {
			rootfs = m[1]
		}
	}
	require.NotEmpty(t, rootfs, "the build stage copies configs/otelcol-dynamo.yaml into the image")
	assert.Contains(t, final.all("COPY"), "--from=build "+rootfs+"/etc/ /etc/")

	// The state folder, where the gateway's STORAGE_DIR defaults to, belongs
	// to that user.
	assert.Contains(t, final.all("COPY"),
		"--from=build --chown="+uid+":"+gid+" "+rootfs+"/var/lib/otelcol-dynamo /var/lib/otelcol-dynamo")
	gateway, err := os.ReadFile(repoPath(t, "configs", "otelcol-dynamo.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(gateway), "${env:STORAGE_DIR:-/var/lib/otelcol-dynamo/")
}

// dockerignored reports whether a .dockerignore pattern list excludes a path
// (Docker's rules for the patterns used here: *, ?, **, a pattern also
// excluding everything under a matched folder, ! re-including).
func dockerignored(patterns []string, p string) bool {
	ignored := false
	for _, pat := range patterns {
		negate := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pat); i++ {
			switch {
			case strings.HasPrefix(pat[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(pat[i:], "**"):
				re.WriteString(".*")
				i++
			case pat[i] == '*':
				re.WriteString("[^/]*")
			case pat[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(pat[i])))
			}
		}
		re.WriteString("(/.*)?$")
		if regexp.MustCompile(re.String()).MatchString(p) {
			ignored = !negate
		}
	}
	return ignored
}

func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	b, err := os.ReadFile(repoPath(t, ".dockerignore"))
	require.NoError(t, err)
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	require.True(t, dockerignored([]string{"bin"}, "bin/otelcol-dynamo"), "the matcher itself")
	require.True(t, dockerignored([]string{"**/*.test"}, "a/b/c.test"), "the matcher itself")
	require.False(t, dockerignored([]string{"bin", "!bin/x"}, "bin/x"), "the matcher itself")

	for _, p := range []string{"go.mod", "go.sum", "Makefile", "builder-config.yaml",
		"cmd/otelcol-dynamo/main.go", "cmd/otelcol-dynamo/components.go", "configs/otelcol-dynamo.yaml"} {
		assert.False(t, dockerignored(patterns, p), "%s is needed by the image build", p)
	}
	// Every Go package the binary is built from.
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/otelcol-dynamo")
	cmd.Dir = testutil.RepoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	root := testutil.RepoRoot(t) + "/"
	for _, dir := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(dir, root); ok {
			assert.False(t, dockerignored(patterns, rel+"/x.go"), "package folder %s is needed by the image build", rel)
		}
	}
	// And what must stay out.
	for _, p := range []string{"bin/otelcol-dynamo", ".git/HEAD", "local-data/out/traces.jsonl"} {
		assert.True(t, dockerignored(patterns, p), "%s should not be sent to the Docker engine", p)
	}
}
