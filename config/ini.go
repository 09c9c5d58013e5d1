package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// entry is one "key = value" line of a configuration file.
type entry struct {
	key   string
	value string
	line  int
}

// section is one "[kind name]" block (or the unnamed top of the file) with its
// entries in file order.
type section struct {
	kind    string // "" for the top of the file
	name    string
	line    int
	entries []entry
}

// parseINI reads the small INI dialect of bounced configuration files:
//
//	# a comment (also "; a comment"), blank lines ignored
//	key = value              # a trailing comment after whitespace
//	key = "quoted # value"   # double quotes keep '#', leading and trailing blanks
//	[mailbox bounces]        # a section with a kind and a name
//
// It returns every syntax problem it finds, not just the first.
func parseINI(r io.Reader) ([]*section, []error) {
	var (
		problems []error
		top      = &section{line: 0}
		sections = []*section{top}
		cur      = top
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.TrimSpace(stripComment(line[end+1:])) != "" {
				problems = append(problems, fmt.Errorf("line %d: malformed section header %q", n, line))
				continue
			}
			fields := strings.Fields(line[1:end])
			if len(fields) == 0 || len(fields) > 2 {
				problems = append(problems, fmt.Errorf("line %d: section header must be [kind name], got %q", n, line))
				continue
			}
			cur = &section{kind: strings.ToLower(fields[0]), line: n}
			if len(fields) == 2 {
				cur.name = strings.Trim(fields[1], `"`)
			}
			sections = append(sections, cur)
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			problems = append(problems, fmt.Errorf("line %d: expected key = value, got %q", n, line))
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" {
			problems = append(problems, fmt.Errorf("line %d: empty key", n))
			continue
		}
		value, err := parseValue(strings.TrimSpace(raw))
		if err != nil {
			problems = append(problems, fmt.Errorf("line %d: %s: %w", n, key, err))
			continue
		}
		for _, e := range cur.entries {
			if e.key == key {
				problems = append(problems, fmt.Errorf("line %d: %s given twice (first on line %d)", n, key, e.line))
			}
		}
		cur.entries = append(cur.entries, entry{key: key, value: value, line: n})
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Errorf("reading configuration: %w", err))
	}
	return sections, problems
}

// parseValue decodes a value: a double-quoted string with \" and \\ escapes, or
// bare text up to a comment that follows whitespace.
func parseValue(raw string) (string, error) {
	if !strings.HasPrefix(raw, `"`) {
		return strings.TrimSpace(stripComment(raw)), nil
	}
	var b strings.Builder
	for i := 1; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\\':
			if i+1 >= len(raw) {
				return "", fmt.Errorf("unterminated escape in quoted value")
			}
			i++
			b.WriteByte(raw[i])
		case '"':
			if rest := strings.TrimSpace(stripComment(raw[i+1:])); rest != "" {
				return "", fmt.Errorf("unexpected text after quoted value: %q", rest)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quoted value")
}

// stripComment cuts s at the first '#' or ';' that starts the text or follows
// a blank.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if (s[i] == '#' || s[i] == ';') && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}
