package statuspage

// FromAcceptLanguage is fromAcceptLanguage, for the tests.
var FromAcceptLanguage = fromAcceptLanguage

// MissingMessages returns "lang:key" for every label one language has and
// another lacks.
func MissingMessages() []string {
	var missing []string
	for _, a := range Languages {
		for _, b := range Languages {
			for key := range messages[a] {
				if _, ok := messages[b][key]; !ok {
					missing = append(missing, b+":"+key)
				}
			}
		}
	}
	return missing
}
