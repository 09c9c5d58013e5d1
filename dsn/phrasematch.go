package dsn

import "sort"

// phraseMatcher finds every phrase of the phrase tables in one pass over the
// text: an Aho-Corasick automaton over bytes, built once at package init.
// Per byte it follows at most a few failure links, so matching costs the
// same whether the tables hold 50 phrases or 2,000.
type phraseMatcher struct {
	nodes []acNode
	// root is the root's transitions as a dense table (-1: none): the root
	// has an edge for almost every first byte, and most text bytes start
	// from it.
	root  [256]int32
	dense bool // root is filled in
}

// acNode is one state of the automaton.
type acNode struct {
	// edges are the trie's outgoing transitions, sorted by byte.
	edges []acEdge
	fail  int32
	// out lists the patterns that end here, including those ending in a
	// suffix state (merged along failure links at build time).
	out []int32
}

type acEdge struct {
	b    byte
	next int32
}

// acPattern is what a match reports.
type acPattern struct {
	reason Reason
	rank   uint8 // index into reasonPrecedence
	n      int   // length in bytes
	word   bool  // must stand as a whole word
	weak   bool  // counts only when no strong phrase matched
	stage  bool  // a senderStagePhrases entry, not a reason
	nullMX bool  // a nullMXPhrases entry, not a reason
	final  bool  // a finalPhrases entry, not a reason
	// command is a deliveryCommandPhrases entry, not a reason
	command bool
	// dataStage is a dataStagePhrases entry, not a reason
	dataStage bool
	// ourSide is an ourSidePhrases entry, not a reason
	ourSide bool
	// advice is an adviceMarkers entry: what follows is help text
	advice bool
}

// matchSet collects which reasons the text revealed, as bitsets over
// reasonPrecedence ranks.
type matchSet struct {
	strong, weak uint32
	// senderStage is set when the text says the refusal came before any
	// recipient was named (senderStagePhrases).
	senderStage bool
	// nullMX is set when the text says the domain accepts no mail.
	nullMX bool
	// final is set when the text calls the failure permanent.
	final bool
	// command is set when a local delivery program reported the failure.
	command bool
	// dataStage is set when the refusal answered the message content.
	dataStage bool
	// ourSide is set when the text names the sending side.
	ourSide bool
}

func (m *phraseMatcher) child(n int32, b byte) int32 {
	if n == 0 && m.dense {
		return m.root[b]
	}
	e := m.nodes[n].edges
	// Most nodes have one or two edges; a linear scan beats binary search.
	for i := range e {
		if e[i].b == b {
			return e[i].next
		}
		if e[i].b > b {
			break
		}
	}
	return -1
}

// build constructs the automaton for the given patterns (already normalized).
func (m *phraseMatcher) build(pats []string) {
	m.nodes = []acNode{{}}
	for id, p := range pats {
		cur := int32(0)
		for i := 0; i < len(p); i++ {
			next := m.child(cur, p[i])
			if next < 0 {
				next = int32(len(m.nodes))
				m.nodes = append(m.nodes, acNode{})
				e := append(m.nodes[cur].edges, acEdge{p[i], next})
				sort.Slice(e, func(a, b int) bool { return e[a].b < e[b].b })
				m.nodes[cur].edges = e
			}
			cur = next
		}
		m.nodes[cur].out = append(m.nodes[cur].out, int32(id))
	}
	for b := range m.root {
		m.root[b] = -1
	}
	for _, e := range m.nodes[0].edges {
		m.root[e.b] = e.next
	}
	m.dense = true
	// Breadth-first: failure links and merged outputs.
	queue := make([]int32, 0, len(m.nodes))
	for _, e := range m.nodes[0].edges {
		m.nodes[e.next].fail = 0
		queue = append(queue, e.next)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range m.nodes[n].edges {
			f := m.nodes[n].fail
			for {
				if c := m.child(f, e.b); c >= 0 {
					m.nodes[e.next].fail = c
					break
				}
				if f == 0 {
					m.nodes[e.next].fail = 0
					break
				}
				f = m.nodes[f].fail
			}
			fo := m.nodes[m.nodes[e.next].fail].out
			if len(fo) > 0 {
				m.nodes[e.next].out = append(m.nodes[e.next].out[:len(m.nodes[e.next].out):len(m.nodes[e.next].out)], fo...)
			}
			queue = append(queue, e.next)
		}
	}
}

// isWordByte reports whether b continues a word for whole-word matching.
// Bytes of multi-byte UTF-8 sequences count as word bytes.
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 0x80
}

// scan matches text (already normalized) against the patterns.
//
// Phrases after an advice marker (adviceMarkers) do not count: "rejected
// due to spam classification. To address this issue: set up SPF records"
// is spam, and the SPF advice names no failure.
//
// A phrase found inside a longer phrase that matched at the same place does
// not count on its own: "blacklisted url" is about the content, not a
// blocklist, and "sender address rejected" is not an "address rejected".
// Phrases are matched as the longest that fit, the way a reader reads them.
func (m *phraseMatcher) scan(text []byte, pats []acPattern) matchSet {
	var ms matchSet
	var buf [16]acMatch
	found := buf[:0]
	adviceAt := int32(len(text))
	cur := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if c := m.child(cur, b); c >= 0 {
				cur = c
				break
			}
			if cur == 0 {
				break
			}
			cur = m.nodes[cur].fail
		}
		for _, id := range m.nodes[cur].out {
			p := &pats[id]
			start := i + 1 - p.n
			if p.word {
				if start > 0 && isWordByte(text[start-1]) || i+1 < len(text) && isWordByte(text[i+1]) {
					continue
				}
			}
			switch {
			case p.stage:
				ms.senderStage = true
			case p.nullMX:
				ms.nullMX = true
			case p.final:
				ms.final = true
			case p.command:
				ms.command = true
			case p.dataStage:
				ms.dataStage = true
			case p.ourSide:
				ms.ourSide = true
			case p.advice:
				if start > 0 && int32(start) < adviceAt {
					adviceAt = int32(start)
				}
			default:
				found = append(found, acMatch{start: int32(start), end: int32(i + 1), id: id})
			}
		}
	}
	for j, f := range found {
		if f.start >= adviceAt || masked(found, j) {
			continue // help text names causes it does not report
		}
		p := &pats[f.id]
		if p.weak {
			ms.weak |= 1 << p.rank
		} else {
			ms.strong |= 1 << p.rank
		}
	}
	return ms
}

// acMatch is one phrase found in the text: text[start:end] is pattern id.
type acMatch struct {
	start, end int32
	id         int32
}

// masked reports whether found[j] lies inside a longer match.
func masked(found []acMatch, j int) bool {
	f := found[j]
	for k, o := range found {
		if k != j && o.start <= f.start && f.end <= o.end && o.end-o.start > f.end-f.start {
			return true
		}
	}
	return false
}
