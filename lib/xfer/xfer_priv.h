/*
 * Private parts of the transfer engine shared by lib/xfer/ files (and their
 * unit tests): the plan, the journal, SHA-256 and the file-system sides.
 */
#ifndef CPK_XFER_PRIV_H
#define CPK_XFER_PRIV_H

#include <stdint.h>
#include <stdio.h>

#include "sftp.h"
#include "cpk/xfer.h"
#include "internal.h"

/* ---- SHA-256 (sha256.c) ---------------------------------------------- */

struct xsha256 {		/* OpenSSL's SHA-256 (SHA-NI where the CPU has it) */
	void *ctx;		/* EVP_MD_CTX */
	int failed;		/* allocation or digest failure: sticky */
};
CPK_INTERNAL void xsha256_init(struct xsha256 *c);
CPK_INTERNAL void xsha256_update(struct xsha256 *c, const void *p, size_t n);
/* Finishes and frees: HEX gets 64 hex digits, or "" if anything failed
 * (so it never matches a real digest). */
CPK_INTERNAL void xsha256_hex(struct xsha256 *c, char hex[65]);
/* Frees a context that will not be finished with xsha256_hex(). */
CPK_INTERNAL void xsha256_release(struct xsha256 *c);

/* ---- one side of a copy: the local file system or an SFTP server ------ */

struct xfs {
	struct cpk_sftp *s;	/* NULL: local */
	/* A local destination (at): every path under PREFIX is reached from
	 * the directory fd ROOT a component at a time, no symlink followed
	 * (openat O_NOFOLLOW|O_DIRECTORY); ROOT and PREFIX are borrowed.  The
	 * operand itself was resolved once, as cp does.  CDIR/CFD: the last
	 * parent directory opened (CDIR NULL: none), closed by
	 * xfs_release().  at 0: paths are used as given. */
	int at;
	int root;
	const char *prefix;
	char *cdir;
	int cfd;
};
/* Closes what F has cached.  F stays usable. */
CPK_INTERNAL void xfs_release(struct xfs *f);

/* XT_BAD: a listed name that is no file name (empty, or holding '/' or a
 * NUL): its name in the listing is its quoted form (xfs_quote()), its size
 * the reason (XBAD_*), and it must never be joined to a path. */
enum { XT_OTHER, XT_FILE, XT_DIR, XT_LINK, XT_BAD };
enum { XBAD_EMPTY = 1, XBAD_NUL, XBAD_SLASH };
struct xstat {
	int type;		/* XT_* */
	uint64_t size;
	uint32_t mode;		/* permission bits (07777) */
	uint32_t atime, mtime;
};
/* Appends the LEN bytes of S to B as a C string literal: in double quotes,
 * '"' and '\\' escaped, \n \t \r, other bytes below 0x20 or from 0x7f
 * as \ooo.  The one form names from the other side are shown in. */
CPK_INTERNAL void xfs_quote(struct cpk_buf *b, const char *s, size_t len);
/* Why an XT_BAD entry was refused ("a '/' inside the name", ...). */
CPK_INTERNAL const char *xfs_bad_why(const struct xstat *st);

CPK_INTERNAL cpk_err_t xfs_stat(const struct xfs *f, const char *path,
				int follow, struct xstat *st);
/* Entries of directory PATH (no "." or ".."), sorted by name: *NAMES is a
 * new array of *N new strings (xfs_names_free()), *STS a new array (free())
 * of their lstat attributes.  Every name is checked here, the one place
 * listings of both sides pass through: one that is no file name comes as
 * an XT_BAD entry. */
CPK_INTERNAL cpk_err_t xfs_list(const struct xfs *f, const char *path,
				char ***names, struct xstat **sts, size_t *n);
CPK_INTERNAL void xfs_names_free(char **names, size_t n);
/* One directory of xfs_list_many(): what xfs_list() gives, or its error. */
struct xlisting {
	char **names;
	struct xstat *sts;
	size_t n;
	int truncated;		/* more than MAX entries: none given */
	cpk_err_t err;
	char *msg;		/* the error's message */
};
/* Lists the N directories PATHS into OUT[N]; on a remote side with all the
 * requests in flight together, and directory i only marked truncated if it
 * has more than MAX[i] entries (MAX NULL or 0: no limit).  Fails only when
 * the connection does. */
CPK_INTERNAL cpk_err_t xfs_list_many(const struct xfs *f,
				     const char *const *paths, size_t n,
				     const size_t *max, struct xlisting *out);
/* A directory read in pieces, in the order the file system (or server)
 * gives: xfs_opendir(), xfs_readdir() until *EOF, xfs_closedir(). */
struct xdirrd;
CPK_INTERNAL cpk_err_t xfs_opendir(const struct xfs *f, const char *path,
				   struct xdirrd **out);
/* The next WANT entries or so (fewer at the end: *EOF) as xfs_list()
 * gives them, unsorted. */
CPK_INTERNAL cpk_err_t xfs_readdir(struct xdirrd *r, size_t want,
				   char ***names, struct xstat **sts,
				   size_t *n, int *eof);
CPK_INTERNAL void xfs_closedir(struct xdirrd *r);
/* Sorts NAMES by name, STS along. */
CPK_INTERNAL cpk_err_t xfs_sort(char **names, struct xstat *sts, size_t n);
CPK_INTERNAL void xfs_listing_release(struct xlisting *l);
CPK_INTERNAL cpk_err_t xfs_readlink(const struct xfs *f, const char *path,
				    char **out);
/* mkdir with MODE as given; an existing directory is fine, an existing
 * non-directory is CPK_ERR_EXISTS with a message saying a directory is
 * needed.  Below a
 * local root, a symlink on the way or at PATH is XFS_ERR_LINK ("... is a
 * symbolic link, not followed"). */
CPK_INTERNAL cpk_err_t xfs_mkdir(struct xfs *f, const char *path,
				 uint32_t mode);
#define XFS_ERR_LINK CPK_ERR_INVALID
CPK_INTERNAL cpk_err_t xfs_symlink(struct xfs *f, const char *target,
				   const char *path);
/* Renames FROM over TO (local: in one directory below the root). */
CPK_INTERNAL cpk_err_t xfs_rename(struct xfs *f, const char *from,
				  const char *to);
CPK_INTERNAL cpk_err_t xfs_remove(struct xfs *f, const char *path);
/* Sets mode MODE (unless -1) and the times of TIMES (unless NULL) of PATH:
 * a temporary file of this copy or a directory.  Locally on an fd opened
 * with O_NOFOLLOW (a temporary file must pass xfs_open_tmp()'s check). */
CPK_INTERNAL cpk_err_t xfs_setattr(struct xfs *f, const char *path, int mode,
				   const struct xstat *times);
/* A local temporary file for writing: with CREATE a new one (O_CREAT|
 * O_EXCL|O_NOFOLLOW, mode MODE; whatever holds the name is unlinked, never
 * followed, and the creation tried once more), else the existing one
 * reopened (O_NOFOLLOW), which must be a regular file of this user with
 * one link.  *FD: the new fd. */
CPK_INTERNAL cpk_err_t xfs_open_tmp(struct xfs *f, const char *path,
				    int create, uint32_t mode, int *fd);

/* The local destination below its root (fsdst.c): what the xfs_* calls
 * above do when F->at. */
struct stat;
CPK_INTERNAL cpk_err_t xdst_lstat(const struct xfs *f, const char *path,
				  struct stat *st);
CPK_INTERNAL cpk_err_t xdst_mkdir(struct xfs *f, const char *path,
				  uint32_t mode);
CPK_INTERNAL cpk_err_t xdst_symlink(struct xfs *f, const char *target,
				    const char *path);
CPK_INTERNAL cpk_err_t xdst_rename(struct xfs *f, const char *from,
				   const char *to);
/* Removes temporary file PATH: a regular file of this user only. */
CPK_INTERNAL cpk_err_t xdst_remove(struct xfs *f, const char *path);
CPK_INTERNAL cpk_err_t xdst_setattr(struct xfs *f, const char *path, int mode,
				    const struct xstat *times);
CPK_INTERNAL cpk_err_t xdst_open_tmp(struct xfs *f, const char *path,
				     int create, uint32_t mode, int *fd);

/* ---- the plan (plan.c, target.c, walk.c) ----------------------------- */

struct xent {
	char *src, *dst;	/* full paths on each side */
	char *tmp;		/* big files: the temporary name beside dst (small
				 * ones: made when their batch runs) */
	char *rel;		/* path relative to its operand (journal id) */
	char *link;		/* links: the target */
	struct xstat st;
	uint64_t chunk;		/* 0: a small file copied whole */
	uint32_t nchunks;	/* 1 for small files */
	uint32_t left;		/* chunks not done yet */
	unsigned char *cdone;	/* nchunks flags (big files) */
	int done, failed;
	int resumable;		/* failed with its connection (or interrupted):
				 * a journal may resume its temporary file */
	char *err;		/* why it failed */
};

enum { TASK_CHUNK, TASK_BATCH };
struct xtask {
	int kind;
	uint32_t file;		/* CHUNK: the file; BATCH: first entry */
	uint32_t chunk;		/* CHUNK: its index; BATCH: count of entries,
				 * of which only the small files are its work
				 * (xplan_batched()): a batch runs on across
				 * the directories between its files */
	unsigned tries;
};

/* Whether entry E is a small file, copied whole in a batch. */
static inline int xplan_batched(const struct xent *e)
{
	return e->st.type == XT_FILE && !e->chunk;
}

/* Strings of a plan live in blocks: a tree of a million files costs a
 * malloc header and slack per name otherwise. */
struct xarena {
	struct xarena *next;
	size_t used, cap;
	char data[];
};

/* A directory whose whole subtree is planned (the walk left it): its mode
 * and times are set once the segment that closed it is copied. */
struct xdir {
	char *dst;		/* in the plan's string blocks */
	struct xstat st;
	int failed;
	char *err;
};

#define XPLAN_TOKEN_LEN 16	/* hex digits of a copy's random token */

/* A listed name the walk refused (XT_BAD): a file that failed. */
struct xbad {
	char *where;		/* DIR/"quoted name", in the plan's string
				 * blocks: for messages, never a path */
	const char *why;	/* xfs_bad_why() */
};

/*
 * The plan of one segment of a copy: the walk hands out the tree in
 * segments of at most `seg_max` entries (and about XPLAN_SEG_BYTES of
 * names), each copied before the next is walked, so memory does not grow
 * with the tree.  Entries are numbered across segments (`base` is the
 * number of e[0]): the journal names them so.
 */
struct xplan {
	struct xarena *strs;	/* the entries' names (src, dst, tmp, ...) */
	size_t strbytes;	/* bytes in strs */
	struct xent *e;
	size_t n, cap;
	struct xtask *t;
	size_t nt;		/* the queue: t[0..nt) */
	size_t nsplit;		/* split off the queue's batches: t[nt..) */
	uint64_t bytes, files;
	unsigned parts;		/* big files are cut in about this many chunks
				 * (0: XPLAN_PARTS) */
	uint64_t base;		/* number of e[0] in the whole copy */
	struct xdir *closed;	/* directories closed in this segment, in
				 * post-order (children before parents) */
	size_t nclosed, capclosed;
	struct xbad *bad;	/* names refused in this segment */
	size_t nbad, capbad;
	char token[XPLAN_TOKEN_LEN + 1];	/* of the temporary names */
};

#define XPLAN_PARTS 16

CPK_INTERNAL void xplan_release(struct xplan *p);
/* Empties P for the next segment: base moves past its entries; parts
 * stays. */
CPK_INTERNAL void xplan_next(struct xplan *p);
/* Whether P holds a full segment (SEG_MAX entries, 0: XPLAN_SEG_FILES, or
 * XPLAN_SEG_BYTES of names). */
CPK_INTERNAL int xplan_full(const struct xplan *p, size_t seg_max);
#define XPLAN_SEG_FILES 16384
#define XPLAN_SEG_BYTES (4u << 20)
/* Records directory DST (attributes ST) as closed; DST is copied. */
CPK_INTERNAL cpk_err_t xplan_close_dir(struct xplan *p, const char *dst,
				       const struct xstat *st);
/* Records the refused name QUOTED (an XT_BAD entry, attributes ST) of
 * directory DIR: counted as a file, reported as failed. */
CPK_INTERNAL cpk_err_t xplan_bad(struct xplan *p, const char *dir,
				 const char *quoted, const struct xstat *st);
/* Appends an entry; the strings are copied into the plan and freed (also on
 * failure). */
CPK_INTERNAL cpk_err_t xplan_add(struct xplan *p, char *src, char *dst,
				 char *rel, const struct xstat *st,
				 char *link);
/* Streams (SFTP channels, one thread each) wanted: one per core (at least
 * 2), and more when one channel's window per round trip RTT_MS cannot
 * carry what NCPU cores can (at most XPLAN_MAX_AUTO). */
CPK_INTERNAL unsigned xplan_streams(double rtt_ms, long ncpu);
#define XPLAN_MAX_AUTO 32
/* At most this many connections by default, all set up at once: sshd's
 * MaxStartups (10 by default) drops unauthenticated connections beyond. */
#define XPLAN_MAX_STARTUPS 8
/* Channels per connection: sshd's MaxSessions is 10 by default. */
#define XPLAN_MAX_CHANS 8
#define XPLAN_MAX_STREAMS 64
/* Connections and channels per connection: CONNS and CHANS as given, 0
 * for a default that gives xplan_streams() streams: a connection per core,
 * more if XPLAN_MAX_CHANS channels each are not enough, at most
 * XPLAN_MAX_STARTUPS connections; at most XPLAN_MAX_STREAMS in all. */
CPK_INTERNAL void xplan_layout(double rtt_ms, long ncpu, unsigned conns,
			       unsigned chans, unsigned *out_conns,
			       unsigned *out_chans);
/* Connections worth their login for the work left (BYTES in FILES
 * files): one per XPLAN_CONN_BYTES plus one per XPLAN_CONN_FILES files,
 * at least 1, at most CONNS.  An SSH login costs the server 0.1-2 s of CPU
 * and the client several round trips: `-n 20` for 100 files of 1 KiB
 * opens 3 connections, not 20 (issue 16). */
#define XPLAN_CONN_BYTES (1u << 20)
#define XPLAN_CONN_FILES 32
CPK_INTERNAL unsigned xplan_conns_for_work(uint64_t bytes, uint64_t files,
					   unsigned conns);
/* Chunk size of a file of SIZE bytes: 0 (whole) up to CMIN, else about a
 * PARTS-th of the file (0: XPLAN_PARTS), a multiple of 1 MiB, within
 * [CMIN, CMAX]. */
CPK_INTERNAL uint64_t xplan_chunk_size(uint64_t size, uint64_t cmin,
				       uint64_t cmax, unsigned parts);
/* Sets chunk/nchunks/left/tmp of each file and builds the tasks: one per
 * chunk of big files, and batches of small files of at most BATCH_FILES
 * files and BATCH_BYTES bytes, fewer if that spreads the small files over
 * CONNS connections.  A batch spans the entries from its first small file
 * to its last: directories, links and the like between them do not end
 * it (a tree of 200 directories of 100 files made 200 batches of 100,
 * each ending with its pipeline drained), big files do. */
CPK_INTERNAL cpk_err_t xplan_tasks(struct xplan *p, uint64_t cmin,
				   uint64_t cmax, unsigned conns);
/* Room for this many batches split off the queue per segment (t[nt..),
 * reserved by xplan_tasks(): task pointers never move). */
#define XPLAN_SPLITS 256
/*
 * The files of a queued batch of FILES files to hand out now, when only
 * LEFT pieces of work (this one counted) are still queued and IDLE
 * streams (this one counted; those still connecting too) hold none: all
 * of it while there is a piece for each, else a share, so that the last
 * batches spread over every stream, late ones included, instead of one
 * stream taking a whole batch while others find the queue empty.
 */
CPK_INTERNAL uint32_t xplan_batch_share(uint32_t files, size_t left,
					unsigned idle);
/* Splits the first K files (0 < K < its count) off queued batch TI into a
 * task of their own, t[nt + nsplit], which it returns; TI keeps the rest.
 * -1 (nothing changed) when the room is used up. */
CPK_INTERNAL long xplan_split(struct xplan *p, size_t ti, uint32_t k);
/*
 * The walk of the sources, handed out a segment at a time: depth first,
 * the operand itself followed (and every link if FOLLOW).  Memory: the
 * listings (or, of big directories, the pieces) of the directories on the
 * current path, plus (remote side) listings fetched ahead, at most
 * at most XWALK_AHEAD directories a round and about XWALK_CACHED names
 * (2 x XWALK_CACHED while a round is read).
 */
struct xwframe;
struct xlcache;
struct xwalk {
	const struct xfs *f;
	int recursive, follow;
	struct xwframe *fr;	/* the directories being walked, outermost
				 * first */
	size_t depth, cap;
	struct xlcache *c;	/* remote listings fetched ahead */
	size_t whole;		/* directories of more entries are read in
				 * pieces of XWALK_PIECE */
	/* called with each remote listing fetched, before the walk adds its
	 * entries (the engine connects ahead as the work shows) */
	void (*listed)(void *arg, const struct xlisting *l);
	void *listed_arg;
};
#define XWALK_AHEAD 256
#define XWALK_CACHED 16384
#define XWALK_PIECE 2048	/* entries read at a time from a big directory */
/* Directories of up to WHOLE entries (0: XPLAN_SEG_FILES) are listed
 * whole and sorted by name, bigger ones read in pieces (XWALK_PIECE) in
 * the order the file system gives. */
CPK_INTERNAL void xwalk_init(struct xwalk *w, const struct xfs *f,
			     int recursive, int follow, size_t whole);
CPK_INTERNAL void xwalk_release(struct xwalk *w);
/* Starts on operand SRC (to be named DSTROOT): adds its entry to P. */
CPK_INTERNAL cpk_err_t xwalk_source(struct xwalk *w, struct xplan *p,
				    const char *src, const char *dstroot);
/* Adds entries to P until the operand is walked (*MORE = 0) or P is full
 * (xplan_full(P, SEG_MAX); *MORE = 1).  Directories the walk leaves go to
 * P's closed list. */
CPK_INTERNAL cpk_err_t xwalk_fill(struct xwalk *w, struct xplan *p,
				  size_t seg_max, int *more);
/* The destination root for source SRC: DST/basename(SRC) when DST_IS_DIR,
 * else DST.  A new string, NULL on allocation failure. */
CPK_INTERNAL char *xplan_dst_root(const char *src, const char *dst,
				  int dst_is_dir);
/* ".NAME.TOKEN.cpk-part" beside PATH (TOKEN: the copy's 16 random hex
 * digits).  A new string. */
CPK_INTERNAL char *xplan_tmp_name(const char *path, const char *token);
/* DIR/NAME (DIR "" gives NAME).  A new string. */
CPK_INTERNAL char *xplan_join(const char *dir, const char *name);
/* The last component of PATH without trailing slashes ("" for "/").  A new
 * string. */
CPK_INTERNAL char *xplan_base_name(const char *path);
/* SHA-256 hex over every entry's rel, type, size, mode and mtime (of this
 * segment). */
CPK_INTERNAL void xplan_digest(const struct xplan *p, char hex[65]);

/* ---- the journal (journal.c) ------------------------------------------ */

/*
 * A text file:  the header (lines up to "."), "K TOKEN" (the random part
 * of the temporary names, 16 lowercase hex digits, once), "D dir" or
 * "D name" (the destination was a directory the sources went into, or the
 * new name of the one source; once), then records
 * appended and fsync'ed as work completes: "S K BASE N SHA256" (segment K, entries
 * BASE..BASE+N-1, was planned; the digest of xplan_digest(), written before
 * any record of its entries), "C FILE CHUNK" (a chunk of a big file is at
 * the destination, in its temporary file) and "F FILE" (FILE is complete
 * under its final name).  FILE is the entry's number in the whole copy.
 * A torn last line is ignored.
 */
struct xjournal {
	int fd;
	char *path;
};
struct xseg {
	uint64_t base;
	size_t n;
	char hex[65];
};
struct xrchunk {
	uint64_t g;
	uint32_t c;
};
/* Finished files LO..HI-1. */
struct xrange {
	uint64_t lo, hi;
};
/* What an earlier run recorded: its segments, the finished files (sorted,
 * disjoint ranges) and the finished chunks of files not finished (sorted).
 * Memory grows with the journal's records, never with the numbers in
 * them. */
struct xresume {
	struct xseg *segs;
	size_t nsegs;
	struct xrange *fdone;
	size_t nfdone, capfdone;
	struct xrchunk *chunks;
	size_t nchunks, capchunks;
	size_t records;
	char token[XPLAN_TOKEN_LEN + 1];	/* its "K" record ("": none) */
	char dst_pin;		/* its "D" record: 'd', 'n', or 0: none */
};
/* The header text for a transfer (a new string). */
CPK_INTERNAL char *xjournal_header(int dir, const char *const *srcs,
				   size_t nsrc, const char *dst,
				   uint64_t cmin, uint64_t cmax,
				   unsigned parts, size_t seg);
/* Reads journal F (positioned at its start) into *R when its header is
 * HEADER.  Another header is CPK_ERR_INVALID ("another transfer"), a bad
 * record too ("damaged record at byte N: why").  Every number is bounded:
 * a record is at most XJOURNAL_LINE bytes; segment K is the next one, of
 * at most the header's "segment" entries, starting where the last ended;
 * FILE lies in a recorded segment; CHUNK below 2^32. */
CPK_INTERNAL cpk_err_t xresume_load(FILE *f, const char *header,
				    struct xresume *r);
#define XJOURNAL_LINE 256
CPK_INTERNAL void xresume_release(struct xresume *r);
/* Opens PATH: reads it into *R if it exists with the same header, else
 * creates it with HEADER. */
CPK_INTERNAL cpk_err_t xjournal_open(struct xjournal *j, const char *path,
				     const char *header, struct xresume *r);
/* Right after xjournal_open(): TOKEN (XPLAN_TOKEN_LEN lowercase hex
 * digits, the temporary names' random part) is replaced by R's "K" record
 * if the journal has one, else recorded in J, so that a resume finds the
 * temporary files again. */
CPK_INTERNAL cpk_err_t xjournal_token(struct xjournal *j,
				      const struct xresume *r,
				      char token[XPLAN_TOKEN_LEN + 1]);
/* How the destination resolved when the journal was begun: 1 (the sources
 * go into it, a directory), 0 (copied to that name), -1 (not recorded). */
CPK_INTERNAL int xresume_dst_dir(const struct xresume *r);
/* Records in J how the destination resolved (DST_DIR as above), once, so
 * that a resume resolves it the same way whatever the first run made. */
CPK_INTERNAL cpk_err_t xjournal_dst_dir(struct xjournal *j, int dst_dir);
/* Segment K has been planned as P: if R recorded it, checks that it is the
 * same (else CPK_ERR_INVALID: the sources changed) and marks what R says
 * is done; else records it in J (if J is open). */
CPK_INTERNAL cpk_err_t xjournal_segment(struct xjournal *j,
					const struct xresume *r, unsigned k,
					struct xplan *p);
/* The chunking (parts) and segment size an existing journal at PATH was
 * written with, so that a resume plans the same way whatever its options;
 * 0 when there is no readable journal or it does not say. */
CPK_INTERNAL int xjournal_layout(const char *path, unsigned *parts,
				 size_t *seg);
/* Appends TEXT and fsyncs. */
CPK_INTERNAL cpk_err_t xjournal_append(struct xjournal *j, const char *text,
				       size_t len);
/* Closes; with REMOVE also deletes the file. */
CPK_INTERNAL void xjournal_close(struct xjournal *j, int remove);

/* ---- remote paths as typed (rpath.c) --------------------------------- */

/* A source pattern that matched nothing: WHAT quoted (xfs_quote()), WHY a
 * directory on its way that could not be listed (or NULL). */
struct xrpath_miss {
	char *what, *why;
};
/* The operands of a copy with its remote paths expanded. */
struct xrpath {
	char **srcs;		/* what to copy */
	size_t nsrc;
	char *dst;
	struct xrpath_miss *miss;	/* patterns that matched nothing */
	size_t nmiss;
	const char *const *typed;	/* the operands as given (borrowed: */
	size_t ntyped;			/* the journal's header keeps them) */
	const char *typed_dst;
};
/*
 * Expands the remote paths of a copy (DIR: CPK_XFER_PUT or _GET) as scp
 * does, over S on HOST (for messages): a leading "~" or "~/" is the login
 * directory (relative paths are already: "~/x" is "x", "~" is "."), and
 * "~USER" USER's home, asked of the server (expand-path@openssh.com; an
 * error without it); "a/~" stays literal.  Remote sources (GET) are
 * globbed too: '*', '?' and "[...]" in any component match the names the
 * server lists (fnmatch(3) with FNM_PERIOD: a leading dot only by a
 * leading dot; names that are no file names never match), in bytewise
 * order.  A backslash escapes a metacharacter or a backslash; a path with
 * no unescaped metacharacter is not listed, only those backslashes are
 * removed.  A pattern that matches nothing is recorded in R->miss; if no
 * source is left that is the error.  With one source, a destination
 * ending in '/' that is no directory is an error saying so.  *R: new
 * (xrpath_release()), also on failure.
 */
CPK_INTERNAL cpk_err_t xrpath_expand(struct cpk_sftp *s, int dir,
				     const char *host,
				     const char *const *srcs, size_t nsrc,
				     const char *dst, struct xrpath *r);
CPK_INTERNAL void xrpath_release(struct xrpath *r);
/* Whether PATH holds an unescaped metacharacter (a '[' only if a ']'
 * closes it in the same component). */
CPK_INTERNAL int xrpath_has_magic(const char *path);
/* PATH without the backslashes that escape "*?[]\"; a new string. */
CPK_INTERNAL char *xrpath_unescape(const char *path);
/* Whether the file name NAME matches component PATTERN as xrpath_expand()
 * matches (-1: out of memory). */
CPK_INTERNAL int xrpath_match(const char *pattern, const char *name);

/* ---- verification (verify.c) ----------------------------------------- */

/* Compares the SHA-256 of every done file of P on both sides (LOCAL side
 * read here, REMOTE over SESSION/S).  Mismatching files are marked failed.
 * *OK counts the matches. */
CPK_INTERNAL cpk_err_t xverify(struct xplan *p, int dir, ssh_session session,
			       struct cpk_sftp *s, enum cpk_xfer_verify how,
			       uint64_t *ok);

/* ---- known_hosts markers (knownhosts.c) ------------------------------ */

/* Whether the known_hosts file PATH has a "@revoked" line for the host key
 * whose wire blob is BLOB (LEN bytes): same key type and blob, whatever
 * host field the line has (stricter than OpenSSH, which also matches the
 * host).  *LINE_NO: the number of the first such line, 0 if none.  A file
 * that is missing, cannot be opened or is not a regular file has none;
 * lines too long or malformed are skipped; a NUL ends a line.  An error only
 * when reading fails midway, or out of memory. */
CPK_INTERNAL cpk_err_t xkh_revoked(const char *path, const unsigned char *blob,
				   size_t len, unsigned long *line_no);

#endif
