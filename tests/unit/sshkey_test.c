/* Unit tests: OpenSSH public key fingerprints (as ssh-keygen -l gives). */
#include <stdlib.h>

#include "cpk/ldap.h"
#include "tap.h"

#define KEY "AAAAC3NzaC1lZDI1NTE5AAAAIBBu+3UAiiAoyf34Yydq7nLdGMKq28vQ36N+p0RGPTz7"
#define FP "SHA256:Koelon2eqGj4qBNPQz+WWWNzbW8zVXr7ekjp9MkH6os"

static void fp_is(const char *key, const char *want, const char *name)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_err_t r = cpk_ssh_key_fingerprint(key, &b);

	if (want) {
		ok(r == CPK_OK, "%s: ok", name);
		is_str(b.buf, want, "%s", name);
	} else {
		ok(r == CPK_ERR_INVALID, "%s: refused", name);
	}
	cpk_buf_release(&b);
}

int main(void)
{
	fp_is("ssh-ed25519 " KEY " t", FP, "ed25519 key with a comment");
	fp_is("ssh-ed25519 " KEY, FP, "without a comment");
	fp_is("  ssh-ed25519\t" KEY " a b c\n", FP, "blanks, a long comment, a newline");
	fp_is("ssh-rsa " KEY, NULL, "a type that does not match the blob");
	fp_is("ssh-ed25519 AAAA", NULL, "a truncated blob");
	fp_is("ssh-ed25519", NULL, "no blob");
	fp_is("", NULL, "empty");
	fp_is(NULL, NULL, "NULL");
	return done_testing();
}
