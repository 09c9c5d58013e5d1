package dsn

// Code guides: what the codes operators meet most often (those of the
// article this project started from: 5.7.26, 550, 554, 421, 450, 451, 553,
// 552) mean in practice, every reading each can have, what in a bounce
// decides between the readings, why they happen and how to fix them. The
// reason texts (explain_en.go, explain_de.go) explain a reason; a guide
// explains a code, which may stand for several reasons.

// Reading is one meaning an SMTP code can have.
type Reading struct {
	// Reason is the reason bounced records for this reading, Title its
	// title in the guide's language.
	Reason Reason
	Title  string
	// Decides says what in the bounce selects this reading: the enhanced
	// status code, the server's words.
	Decides string
}

// CodeGuide explains one SMTP reply code or enhanced status code in
// practice. The zero CodeGuide means bounced has no guide for the code.
type CodeGuide struct {
	// Code is the code the guide is written for ("554", "5.7.26").
	Code string
	// Meaning says what the code means in practice, Why what causes it,
	// Fix what to do (steps separated by newlines, most useful first).
	Meaning, Why, Fix string
	// Readings lists every reason the code can stand for, most frequent
	// first, with what decides between them. A code with a single reading
	// (5.7.26) has one.
	Readings []Reading
}

// codeGuide is the text of one guide in one language.
type codeGuide struct {
	meaning, why, fix string
	readings          []reading
}

// reading is one Reading without its title (taken from the reason texts).
type reading struct {
	reason  Reason
	decides string
}

// codeGuides holds the guides per language, keyed by the code as written
// ("451", "5.7.26"). Every language has the same codes (TestCodeGuides).
var codeGuides = map[string]map[string]codeGuide{
	"en": guidesEN,
	"de": guidesDE,
}

// GuidedCodes lists the codes that have a guide, in the article's order.
var GuidedCodes = []string{"5.7.26", "550", "554", "421", "450", "451", "553", "552"}

// guideFor returns the guide for the enhanced status code if there is one,
// else for the reply code. lang must be a known language.
func guideFor(reply int, status, lang string) (CodeGuide, bool) {
	var keys []string
	if status != "" {
		keys = append(keys, status)
	}
	if reply != 0 {
		keys = append(keys, itoa3(reply))
	}
	texts := explanations[lang]
	for _, k := range keys {
		g, ok := codeGuides[lang][k]
		if !ok {
			continue
		}
		cg := CodeGuide{Code: k, Meaning: g.meaning, Why: g.why, Fix: g.fix}
		for _, rd := range g.readings {
			cg.Readings = append(cg.Readings, Reading{Reason: rd.reason, Title: texts[rd.reason].title, Decides: rd.decides})
		}
		return cg, true
	}
	return CodeGuide{}, false
}

// itoa3 formats a three-digit reply code.
func itoa3(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// transientCode reports whether the reply code or the enhanced status code
// is of the transient class (4xx, 4.x.x): such a failure is never permanent,
// whichever reason its words point to.
func transientCode(reply int, status string) bool {
	return reply/100 == 4 || len(status) > 0 && status[0] == '4'
}
