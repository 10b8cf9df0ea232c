//go:build duckdb_arrow

package flight

import (
	"container/list"
	"sync"

	"github.com/finlake/finlake/flight/engine"
)

// stmtPool keeps DuckDB statements that ran to the end (or were prepared and
// never run) for the next query with the same DuckDB text. The text names
// every data file of the snapshots the query reads, so equal text means the
// same files, and a commit (new files) gives new text: reuse can never show
// an older snapshot. Preparing binds the query, reading each file's footer
// and the field-id schema: a repeated point lookup saves that (ms), and
// Python's cursor.execute, which prepares every time, too.
type stmtPool struct {
	mu   sync.Mutex
	max  int
	lru  *list.List // of *pooled, least recently used first
	idle map[string][]*list.Element
	hits int64 // statements handed out again
}

type pooled struct {
	key  string
	conn *engine.Conn
	st   *engine.Stmt
}

func newStmtPool(max int) *stmtPool {
	return &stmtPool{max: max, lru: list.New(), idle: map[string][]*list.Element{}}
}

// take hands out an idle statement for key, if any.
func (p *stmtPool) take(key string) (*engine.Conn, *engine.Stmt, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	es := p.idle[key]
	if len(es) == 0 {
		return nil, nil, false
	}
	e := es[len(es)-1]
	if len(es) == 1 {
		delete(p.idle, key)
	} else {
		p.idle[key] = es[:len(es)-1]
	}
	p.lru.Remove(e)
	p.hits++
	it := e.Value.(*pooled)
	return it.conn, it.st, true
}

// put keeps a statement no one uses any more, closing the least recently
// used one beyond the pool's size.
func (p *stmtPool) put(key string, conn *engine.Conn, st *engine.Stmt) {
	var drop *pooled
	p.mu.Lock()
	if p.max <= 0 {
		drop = &pooled{key, conn, st}
	} else {
		if p.lru.Len() >= p.max {
			drop = p.remove(p.lru.Front())
		}
		p.idle[key] = append(p.idle[key], p.lru.PushBack(&pooled{key, conn, st}))
	}
	p.mu.Unlock()
	if drop != nil {
		drop.st.Close()
		drop.conn.Close()
	}
}

// remove unlinks e (mu held).
func (p *stmtPool) remove(e *list.Element) *pooled {
	it := p.lru.Remove(e).(*pooled)
	es := p.idle[it.key]
	for i, x := range es {
		if x == e {
			es = append(es[:i], es[i+1:]...)
			break
		}
	}
	if len(es) == 0 {
		delete(p.idle, it.key)
	} else {
		p.idle[it.key] = es
	}
	return it
}

// closeAll closes every idle statement (before the database closes).
func (p *stmtPool) closeAll() {
	p.mu.Lock()
	var all []*pooled
	for p.lru.Len() > 0 {
		all = append(all, p.remove(p.lru.Front()))
	}
	p.max = 0 // statements finishing later are closed, not kept
	p.mu.Unlock()
	for _, it := range all {
		it.st.Close()
		it.conn.Close()
	}
}

// stats reports the idle statements and how often one was reused.
func (p *stmtPool) stats() (idle int, hits int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Len(), p.hits
}
