package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliDoc is docs/cli.md, read from the repository.
const cliDoc = "../../docs/cli.md"

// docSection is one "### name" section of docs/cli.md's "## Commands".
type docSection struct {
	name  string
	lines []string
}

// commandSections returns the "### name" sections under "## Commands".
func commandSections(t testing.TB, doc string) []docSection {
	t.Helper()
	var out []docSection
	inCommands := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			inCommands = line == "## Commands"
			continue
		case !inCommands:
			continue
		case strings.HasPrefix(line, "### "):
			out = append(out, docSection{name: strings.TrimPrefix(line, "### ")})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no \"### command\" sections under \"## Commands\"", cliDoc)
	}
	return out
}

var (
	// flagInText is a long flag as the docs write it.
	flagInText = regexp.MustCompile("(?:^|[\\s\\[(|`])--([a-z][a-z0-9-]*)")
	// foreignFlags are other programs' flags that docs/cli.md cites.
	foreignFlags = map[string]bool{
		"no-password": true, "insecure": true, // step crypto, in "export"
	}
	// commandSplit separates the commands of a shell line.
	commandSplit = regexp.MustCompile(`\|\||&&|[|;]`)
	// envAssign is a leading VAR=value of a shell command.
	envAssign = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=\S*$`)
)

// docCommand is one keyplane invocation in a code block of docs/cli.md.
type docCommand struct {
	line  string   // the whole line, for messages
	words []string // after "keyplane"
}

// invocations returns the keyplane commands in the code blocks of lines
// (usage lines and examples; "$ " prompts and VAR=value prefixes allowed).
func invocations(lines []string) []docCommand {
	var out []docCommand
	inCode := false
	cont := ""
	for _, line := range lines {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok { // continued
			cont += l
			continue
		}
		line, cont = cont+line, ""
		code, _, _ := strings.Cut(line, " #") // a shell comment
		for _, part := range commandSplit.Split(code, -1) {
			words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
			for len(words) > 0 && envAssign.MatchString(words[0]) {
				words = words[1:]
			}
			if len(words) == 0 || words[0] != "keyplane" {
				continue
			}
			out = append(out, docCommand{line: line, words: words[1:]})
		}
	}
	return out
}

// commandFor returns the command the words name (the longest path of
// subcommands) and the words that are not subcommands.
func commandFor(root *cobra.Command, words []string) (*cobra.Command, []string) {
	cmd := root
	var skipped []string // global flags before the command, kept as flags
	for len(words) > 0 && cmd == root && strings.HasPrefix(words[0], "--") {
		n := 2 // --flag value
		if strings.Contains(words[0], "=") || len(words) == 1 {
			n = 1
		}
		skipped, words = append(skipped, words[:n]...), words[n:]
	}
	for len(words) > 0 {
		var next *cobra.Command
		for _, c := range cmd.Commands() {
			if c.Name() == words[0] {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, words = next, words[1:]
	}
	return cmd, append(skipped, words...)
}

// hasFlag reports whether cmd takes --name (its own or inherited).
func hasFlag(cmd *cobra.Command, name string) bool {
	return cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
}

func testRoot() *cobra.Command {
	return newRootCmd(&cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
}

// visible returns root's commands, depth first, without help and hidden ones.
func visible(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			out = append(out, sub)
			walk(sub)
		}
	}
	walk(root)
	return out
}

// TestCLIDocMatchesCommands holds docs/cli.md to the cobra command tree:
// every "### name" section names a command; every keyplane command line in
// a code block names existing commands and flags of that command; every
// flag written `--flag` in a section's prose is a flag of that command (or
// of one of its subcommands, or a global one); and every command has a
// section (a subcommand: a usage line "keyplane parent sub" in its
// parent's section). Every flag of a command is named in its section.
func TestCLIDocMatchesCommands(t *testing.T) {
	doc, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	checkCLIDoc(t, testRoot(), string(doc))
}

func checkCLIDoc(t testing.TB, root *cobra.Command, doc string) {
	t.Helper()
	sections := commandSections(t, doc)
	// Flags that "## Commands" describes for every command (--out, --force).
	intro, _, _ := strings.Cut(doc[strings.Index(doc, "\n## Commands\n")+1:], "\n### ")
	documented := map[string]bool{} // command paths after "keyplane "
	for _, s := range sections {
		top, rest := commandFor(root, []string{s.name})
		if top == root || len(rest) != 0 {
			t.Errorf("docs/cli.md: section %q names no keyplane command", s.name)
			continue
		}
		documented[s.name] = true
		tree := append([]*cobra.Command{top}, visible(top)...)
		for _, inv := range invocations(s.lines) {
			cmd, rest := commandFor(root, inv.words)
			if cmd == root {
				t.Errorf("docs/cli.md, section %s: %q: no such command %q", s.name, inv.line, strings.Join(inv.words[:min(1, len(inv.words))], " "))
				continue
			}
			documented[strings.TrimPrefix(cmd.CommandPath(), "keyplane ")] = true
			for _, m := range flagInText.FindAllStringSubmatch(strings.Join(rest, " "), -1) {
				if !hasFlag(cmd, m[1]) {
					t.Errorf("docs/cli.md, section %s: %q: %q has no flag --%s", s.name, inv.line, cmd.CommandPath(), m[1])
				}
			}
		}
		var prose []string
		inCode := false
		for _, line := range s.lines {
			if strings.HasPrefix(line, "```") {
				inCode = !inCode
			} else if !inCode {
				prose = append(prose, line)
			}
		}
		text := strings.Join(prose, "\n")
		for _, m := range flagInText.FindAllStringSubmatch(text, -1) {
			if !foreignFlags[m[1]] && !slices.ContainsFunc(tree, func(c *cobra.Command) bool { return hasFlag(c, m[1]) }) {
				t.Errorf("docs/cli.md, section %s: the text names --%s, which %s does not have", s.name, m[1], top.CommandPath())
			}
		}
		whole := strings.Join(s.lines, "\n")
		for _, c := range tree {
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if !strings.Contains(whole, "--"+f.Name) && !strings.Contains(intro, "--"+f.Name) {
					t.Errorf("docs/cli.md, section %s: %s --%s is not named", s.name, c.CommandPath(), f.Name)
				}
			})
		}
	}
	for _, c := range visible(root) {
		if p := strings.TrimPrefix(c.CommandPath(), "keyplane "); !documented[p] {
			t.Errorf("docs/cli.md: %q has no section (a subcommand: no usage line in its parent's section)", c.CommandPath())
		}
	}
	for _, name := range []string{"backend", "audit-log"} {
		if root.PersistentFlags().Lookup(name) == nil || !strings.Contains(doc, "--"+name) {
			t.Errorf("docs/cli.md or the root command: global flag --%s missing", name)
		}
	}
}

// errorRecorder is a testing.TB that keeps the errors a check reports.
type errorRecorder struct {
	testing.TB
	errs []string
}

func (r *errorRecorder) Helper() {}
func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *errorRecorder) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	panic(r)
}

// TestCLIDocCheckFindsPlantedMismatches: the check fails on each kind of
// drift, planted in a copy of docs/cli.md.
func TestCLIDocCheckFindsPlantedMismatches(t *testing.T) {
	raw, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	replace := func(old, new string) string {
		if !strings.Contains(doc, old) {
			t.Fatalf("docs/cli.md no longer holds %q; update the planted case", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	for _, c := range []struct{ name, doc, want string }{
		{"unknown flag in a usage line", replace("keyplane keygen --label L --type T [--json]", "keyplane keygen --label L --type T [--json] [--colour C]"), "has no flag --colour"},
		{"unknown flag in prose", replace("Prints the label, algorithm and ID; `--json` prints", "Prints the label, algorithm and ID; `--jsonl` prints"), "names --jsonl"},
		{"section of no command", replace("### list\n", "### lists\n"), `section "lists" names no keyplane command`},
		{"command without a section", replace("### delete\n", "### removed\n"), `"keyplane delete" has no section`},
		{"subcommand without a usage line", strings.ReplaceAll(doc, "keyplane jws verify", "keyplane jws check"), `"keyplane jws verify" has no section`},
		{"flag not named", strings.ReplaceAll(doc, "--format", "-format"), "keyplane pubkey --format is not named"},
		{"unknown command in an example", replace("keyplane list [--json]", "keyplane lsit [--json]"), `no such command "lsit"`},
	} {
		r := &errorRecorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != any(r) {
					panic(p)
				}
			}()
			checkCLIDoc(r, testRoot(), c.doc)
		}()
		if !slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, c.want) }) {
			t.Errorf("%s: the check reported %q, want an error containing %q", c.name, r.errs, c.want)
		}
	}
}
