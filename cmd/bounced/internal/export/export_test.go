package export

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"=2+2@x.com":                  "'=2+2@x.com",
		"+1@x.com":                    "'+1@x.com",
		"-1@x.com":                    "'-1@x.com",
		"@SUM(A1)":                    "'@SUM(A1)",
		"\t=1":                        "'\t=1",
		"\r=1":                        "'\r=1",
		`=HYPERLINK("http://e/","o")`: `'=HYPERLINK("http://e/","o")`,
		"alice@x.com":                 "alice@x.com",
		"550 5.1.1 =no":               "550 5.1.1 =no",
		"":                            "",
		"'quoted":                     "'quoted",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
