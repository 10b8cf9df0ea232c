//go:build duckdb_arrow

package flight

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Role is what a caller may do.
type Role string

// Roles.
const (
	RoleReader Role = "reader"
	RoleAdmin  Role = "admin"
	// RoleShare reads like a reader, but every account_id it sees is a
	// pseudonym (flight/share); a reader or admin becomes one for a call with
	// the x-finlake-mask header.
	RoleShare Role = "share"
)

// MaskHeader is the call header ("true") that makes a reader's or admin's
// call a share session: masked like a share token's (lakectl query --mask).
const MaskHeader = "x-finlake-mask"

// Identity is who a call comes from: its role and, after a username and
// password login, the user (for the audit log).
type Identity struct {
	Role Role
	User string
}

// BasicUser is one username/password pair and its role.
type BasicUser struct {
	User, Password string
	Role           Role
}

// Auth holds the credentials the server accepts. With none configured,
// authentication is off and only loopback clients are admins.
type Auth struct {
	ReaderToken string
	AdminToken  string
	ShareToken  string
	Users       []BasicUser

	mu       sync.Mutex
	sessions map[string]Identity // bearer tokens handed out by the basic-auth handshake
}

// Enabled reports whether any credential is configured.
func (a *Auth) Enabled() bool {
	return a != nil && (a.ReaderToken != "" || a.AdminToken != "" || a.ShareToken != "" || len(a.Users) > 0)
}

func eq(a, b string) bool { return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Validate implements flight.BasicAuthValidator: a username and password
// (the Flight handshake) become a session bearer token.
func (a *Auth) Validate(user, pass string) (string, error) {
	for _, u := range a.Users {
		if eq(u.User, user) && eq(u.Password, pass) {
			buf := make([]byte, 24)
			if _, err := rand.Read(buf); err != nil {
				return "", status.Error(codes.Internal, "cannot issue a session token")
			}
			tok := hex.EncodeToString(buf)
			a.mu.Lock()
			if a.sessions == nil {
				a.sessions = map[string]Identity{}
			}
			if len(a.sessions) > 10000 { // bound memory: old sessions re-handshake
				a.sessions = map[string]Identity{}
			}
			a.sessions[tok] = Identity{Role: u.Role, User: u.User}
			a.mu.Unlock()
			return tok, nil
		}
	}
	return "", status.Error(codes.Unauthenticated, "wrong username or password")
}

// IsValid implements flight.BasicAuthValidator for bearer tokens: the static
// reader and admin tokens and the handshake's session tokens.
func (a *Auth) IsValid(token string) (any, error) {
	switch {
	case eq(a.AdminToken, token):
		return RoleAdmin, nil
	case eq(a.ReaderToken, token):
		return RoleReader, nil
	case eq(a.ShareToken, token):
		return RoleShare, nil
	}
	a.mu.Lock()
	r, ok := a.sessions[token]
	a.mu.Unlock()
	if ok {
		return r, nil
	}
	return nil, status.Error(codes.Unauthenticated, "invalid bearer token (send Authorization: Bearer <reader, share or admin token>, or log in with username and password)")
}

// Middleware is the gRPC middleware enforcing the credentials (none when off).
func (a *Auth) Middleware() []flight.ServerMiddleware {
	if !a.Enabled() {
		return nil
	}
	return []flight.ServerMiddleware{flight.CreateServerBasicAuthMiddleware(a)}
}

// roleOf is the caller's role: from its credentials, or with authentication
// off, admin for loopback peers and reader for everyone else; share for any
// call that asks to be masked.
func (s *Server) roleOf(ctx context.Context) Role {
	r := s.credentialRole(ctx)
	if r != "" && r != RoleShare {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(MaskHeader)) > 0 && md.Get(MaskHeader)[0] != "" && md.Get(MaskHeader)[0] != "false" {
			return RoleShare
		}
	}
	return r
}

func (s *Server) credentialRole(ctx context.Context) Role {
	if s.auth.Enabled() {
		switch r := flight.AuthFromContext(ctx).(type) {
		case Role:
			return r
		case Identity:
			return r.Role
		}
		return ""
	}
	if p, ok := peer.FromContext(ctx); ok {
		return RoleForPeer(p.Addr)
	}
	return RoleReader
}

// userOf is the user a call logged in as ("" for a bearer token or no auth).
func userOf(ctx context.Context) string {
	if id, ok := flight.AuthFromContext(ctx).(Identity); ok {
		return id.User
	}
	return ""
}

// RoleForPeer is the role of a client when authentication is off: loopback
// clients (the machine's own user) are admins, everyone else reads.
func RoleForPeer(addr net.Addr) Role {
	if addr == nil {
		return RoleReader
	}
	if addr.Network() == "unix" {
		return RoleAdmin
	}
	host := addr.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsLoopback() {
		return RoleAdmin
	}
	return RoleReader
}

func (s *Server) requireAdmin(ctx context.Context) error {
	if r := s.roleOf(ctx); r == RoleAdmin {
		return nil
	} else if r == RoleShare {
		return fmt.Errorf("%w: schema changes need the admin token, without --mask; a share session may only read", errAdminOnly)
	}
	if s.auth.Enabled() {
		return fmt.Errorf("%w: schema changes (ALTER TABLE ... ADD COLUMN) need the admin token; this token may only read", errAdminOnly)
	}
	return fmt.Errorf("%w: schema changes are accepted only from loopback clients when authentication is off (start lakectl serve with --admin-token to allow remote admins)", errAdminOnly)
}
