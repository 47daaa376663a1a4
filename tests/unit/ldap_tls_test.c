/*
 * Unit tests: how a failed connection is classified (cpk_ldap__classify),
 * with the diagnostics libldap leaves on Debian 12 (GnuTLS) and Debian 13
 * (OpenSSL) for the same failures, and which of them are worth showing.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/ldap/ldap_priv.h"
#include "tap.h"

static const char *name(enum cpk_ldap_failure f)
{
	switch (f) {
	case CPK_LDAP_ANSWER: return "answer";
	case CPK_LDAP_UNREACHABLE: return "unreachable";
	case CPK_LDAP_TLS: return "tls";
	case CPK_LDAP_TIMEOUT: return "timeout";
	}
	return "?";
}

static void is_class(int rc, int handshake, const char *diag,
		     enum cpk_ldap_failure want, const char *what)
{
	is_str(name(cpk_ldap__classify(rc, handshake, diag)), name(want),
	       "%s (rc %d, %s, diag %s)", what, rc,
	       handshake ? "during the TLS handshake" : "no handshake",
	       diag ? diag : "NULL");
}

/* What libldap's TLS layer leaves in LDAP_OPT_DIAGNOSTIC_MESSAGE. */
static const struct {
	const char *lib, *what, *diag;
} tls_diags[] = {
	/* Debian 12, GnuTLS: every verification failure (seen here) */
	{ "GnuTLS", "unknown CA", "(unknown error code)" },
	{ "GnuTLS", "ldaps:// to a plain LDAP port",
	  "The TLS connection was non-properly terminated." },
	{ "GnuTLS", "hostname mismatch",
	  "TLS: hostname does not match CN in peer certificate" },
	/* Debian 13, OpenSSL (tls_o.c: ERR_error_string_n + the verify error) */
	{ "OpenSSL", "unknown CA",
	  "error:0A000086:SSL routines::certificate verify failed "
	  "(unable to get local issuer certificate)" },
	{ "OpenSSL", "self-signed",
	  "error:0A000086:SSL routines::certificate verify failed "
	  "(self-signed certificate)" },
	{ "OpenSSL", "expired",
	  "error:0A000086:SSL routines::certificate verify failed "
	  "(certificate has expired)" },
	{ "OpenSSL", "hostname mismatch",
	  "TLS: hostname does not match subjectAltName in peer certificate" },
	{ "OpenSSL", "ldaps:// to a plain LDAP port",
	  "error:0A00010B:SSL routines::wrong version number" },
	/* another library, another wording */
	{ "other", "anything", "handshake failed" },
};

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(tls_diags) / sizeof(tls_diags[0]); i++) {
		char what[200];

		snprintf(what, sizeof(what), "%s, %s: ldaps://",
			 tls_diags[i].lib, tls_diags[i].what);
		is_class(LDAP_SERVER_DOWN, 1, tls_diags[i].diag, CPK_LDAP_TLS, what);
		snprintf(what, sizeof(what), "%s, %s: StartTLS",
			 tls_diags[i].lib, tls_diags[i].what);
		is_class(LDAP_CONNECT_ERROR, 1, tls_diags[i].diag, CPK_LDAP_TLS, what);
	}
	/* StartTLS: CONNECT_ERROR is the handshake even without a message
	 * (OpenSSL with an empty error queue: the peer hung up) */
	is_class(LDAP_CONNECT_ERROR, 1, NULL, CPK_LDAP_TLS, "StartTLS, no message");
	is_class(LDAP_CONNECT_ERROR, 1, "", CPK_LDAP_TLS, "StartTLS, empty message");

	/* not TLS: the server is down, refuses, or the name does not resolve */
	is_class(LDAP_SERVER_DOWN, 1, NULL, CPK_LDAP_UNREACHABLE, "ldaps://, server down");
	is_class(LDAP_SERVER_DOWN, 1, "", CPK_LDAP_UNREACHABLE, "ldaps://, empty message");
	is_class(LDAP_SERVER_DOWN, 0, NULL, CPK_LDAP_UNREACHABLE, "ldap://, server down");
	/* Debian 13 (OpenSSL): ldaps:// to a port that speaks no TLS leaves no
	 * message; the TCP connection was made, so it is TLS that failed */
	is_class(LDAP_SERVER_DOWN, 2, NULL, CPK_LDAP_TLS, "ldaps://, connected, no message");
	is_class(LDAP_SERVER_DOWN, 2, "", CPK_LDAP_TLS, "ldaps://, connected, empty message");
	is_class(LDAP_CONNECT_ERROR, 2, NULL, CPK_LDAP_TLS, "StartTLS, connected, no message");
#ifdef LDAP_X_SERVER_UNKNOWN
	is_class(LDAP_X_SERVER_UNKNOWN, 1, "Name or service not known",
		 CPK_LDAP_UNREACHABLE, "unknown host (OpenLDAP 2.7 leaves gai_strerror)");
#endif
	is_class(LDAP_CONNECT_ERROR, 0, "(unknown error code)",
		 CPK_LDAP_UNREACHABLE, "no TLS configured: never a TLS failure");
	/* once the connection is open, losing it is not a TLS failure */
	is_class(LDAP_SERVER_DOWN, 0, "error:0A000126:SSL routines::unexpected eof while reading",
		 CPK_LDAP_UNREACHABLE, "connection lost after open");

	is_class(LDAP_TIMEOUT, 1, NULL, CPK_LDAP_TIMEOUT, "network timeout in the handshake");
	is_class(LDAP_TIMELIMIT_EXCEEDED, 0, NULL, CPK_LDAP_TIMEOUT, "server time limit");
	is_class(LDAP_INVALID_CREDENTIALS, 1, "bad password", CPK_LDAP_ANSWER,
		 "an answer is an answer, TLS or not");
	is_class(LDAP_UNAVAILABLE, 1, "TLS not configured", CPK_LDAP_ANSWER,
		 "StartTLS refused by the server");
	is_class(LDAP_SUCCESS, 1, NULL, CPK_LDAP_ANSWER, "success is not a failure");

	/* which messages are worth showing */
	ok(cpk_ldap__tls_detail(NULL) == NULL, "no message: no detail");
	ok(cpk_ldap__tls_detail("") == NULL, "empty message: no detail");
	ok(cpk_ldap__tls_detail("(unknown error code)") == NULL,
	   "GnuTLS's '(unknown error code)' says nothing: no detail");
	is_str(cpk_ldap__tls_detail(tls_diags[4].diag), tls_diags[4].diag,
	       "OpenSSL's message is shown as it is");
	is_str(cpk_ldap__tls_detail(tls_diags[1].diag), tls_diags[1].diag,
	       "so is a GnuTLS message that says something");
	return done_testing();
}
