/*
 * keys — the key folder, the key-encryption key (KEK) and wrapped keys.
 *
 * Every secret renkei keeps at rest (the two database keys, the audit
 * signing key) is 32 random bytes, stored in a file of the key folder
 * (`keys_dir`) WRAPPED under the KEK with AES-256-GCM: a copy of the
 * data folder together with the key folder reveals nothing without the
 * KEK, and the KEK never sits on the data disk. It comes from one of:
 *
 *   credential  $CREDENTIALS_DIRECTORY/renkei-kek, which systemd fills
 *               from LoadCredentialEncrypted= (64 hex digits or 32 raw
 *               bytes); for a system install;
 *   passphrase  asked at start, without echo, on the terminal (or read
 *               from --kek-passphrase-fd N), stretched with argon2id
 *               under the salt and costs kept in KEYS_DIR/kek.params;
 *   env         RENKEI_KEK (64 hex digits), for development: the
 *               variable is wiped from the environment once read.
 *
 * A wrapped key file is one line of text:
 *
 *   renkei-key 1 NAME aes-256-gcm IV CIPHERTEXT TAG
 *
 * IV 12 bytes, CIPHERTEXT 32 bytes, TAG 16 bytes, each in lower-case hex;
 * the additional authenticated data is "renkei-key 1 NAME", so a file
 * renamed to another key's name (care.key as audit.key) does not unwrap.
 * A wrong KEK fails the GCM tag: the caller is told so, in those words.
 *
 * Before a key file is read, it must be: outside the data folder (its
 * real path, symbolic links of folders resolved), a regular file (not a
 * symbolic link itself), owned by the process's effective user, with no
 * permission for group or others, and with one hard link only (another
 * name could be inside the data folder). Each refusal is one line naming
 * the file and why.
 *
 * Every buffer that held a KEK, a passphrase or an unwrapped key is
 * wiped with OPENSSL_cleanse before it is released; callers wipe what
 * they are given (keys_kek_wipe, OPENSSL_cleanse of their own buffers).
 *
 * Depends on OpenSSL, argon2 and util/ only; no globals; any thread.
 */
#ifndef RK_KEYS_KEYS_H
#define RK_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYS_LEN 32

/* The name of the systemd credential, and the development variable. */
#define KEYS_CREDENTIAL "renkei-kek"
#define KEYS_KEK_ENV "RENKEI_KEK"
/* File names in the key folder. */
#define KEYS_CARE "care.key"
#define KEYS_AUDIT "audit.key"
#define KEYS_SIGNING "audit-signing.key"
#define KEYS_SIGNING_PUB "audit-signing.pub" /* public: the key in use */
#define KEYS_ROOT_PUB "audit-root.pub"       /* public: the first key */
#define KEYS_PARAMS "kek.params"
/* The VAPID key (RFC 8292) notices are signed with: a P-256 scalar,
 * wrapped like the others (docs/notice.md). */
#define KEYS_VAPID "vapid.key"
/* A key being replaced (rekey, rotation) is first written as NAME.new. */
#define KEYS_NEW_SUFFIX ".new"

struct keys_kek {
	uint8_t bytes[KEYS_LEN];
	char source[80]; /* where it came from, for messages */
};

struct keys_kek_opts {
	const char *keys_dir;
	/* "auto", "credential", "passphrase" or "env". auto takes, in this
	 * order: a passphrase from passphrase_fd, the systemd credential,
	 * RENKEI_KEK, a passphrase asked on the terminal (only if the key
	 * folder has kek.params, or `create` is set). */
	const char *source;
	int passphrase_fd; /* -1: none */
	/* init: make kek.params (fresh salt, the costs below) when the
	 * source is a passphrase and there is none yet; a passphrase asked on
	 * the terminal is then asked twice. */
	bool create;
	int argon2_t, argon2_m_kib;
};

/* Find and read the KEK. Returns 0, or -1 with a one-line reason in err
 * (no source, a malformed value, a passphrase too short, ...). The
 * caller wipes it with keys_kek_wipe. */
int keys_kek_load(struct keys_kek *kek, const struct keys_kek_opts *o,
                  char *err, size_t errlen);
void keys_kek_wipe(struct keys_kek *kek);

/* 32 fresh random bytes as 64 hex digits (out[65]), e.g. for
 * `renkei-server kek new | systemd-creds encrypt ...`. */
void keys_random_hex(char out[65]);

/* A short public fingerprint of a secret (its first 8 bytes of
 * SHA-256("renkei-key-id" || secret), 16 hex digits into out[17]): what
 * messages and audit records name a key by. */
void keys_id(const uint8_t secret[KEYS_LEN], char out[17]);

/* The key folder: exists, is a folder, is not writable by group or
 * others, is not the data folder nor inside it. 0, or -1 with a reason.
 * data_dir may be NULL (no data folder to compare with yet). */
int keys_dir_check(const char *keys_dir, const char *data_dir, char *err,
                   size_t errlen);

/* Create the key folder (mode 0700) if missing, then keys_dir_check. */
int keys_dir_make(const char *keys_dir, const char *data_dir, char *err,
                  size_t errlen);

/* Check the file `path` as a key file (see the top), without reading
 * it: `secret` files must have no permission for group or others;
 * public ones (the .pub keys) only no write permission. 0, -1 with a
 * reason (ENOENT in *missing if it does not exist, when missing is not
 * NULL; the reason is then set too). */
int keys_file_check(const char *path, const char *data_dir, bool secret,
                    bool *missing, char *err, size_t errlen);

/* Only the first check: 0 if `path` is not inside data_dir, else -1
 * with a reason (for keys the server reads but does not wrap, such as
 * the TLS private key). */
int keys_outside_data(const char *path, const char *data_dir, char *err,
                      size_t errlen);

/* Read and unwrap the key file `path` whose name is `name` ("care",
 * "audit", "audit-signing"): keys_file_check first, then the format,
 * then AES-256-GCM under kek. 0, or -1 with a reason; out is wiped on
 * failure. */
int keys_unwrap_file(const char *path, const char *name, const char *data_dir,
                     const struct keys_kek *kek, uint8_t out[KEYS_LEN],
                     char *err, size_t errlen);

/* Wrap `secret` under kek into a new file `path` (mode 0600): written
 * to path.tmp, fsynced, renamed into place and the folder fsynced, so
 * that a crash leaves either no file or the whole file. Refuses if path
 * exists and !replace. 0, or -1 with a reason. */
int keys_wrap_file(const char *path, const char *name,
                   const struct keys_kek *kek, const uint8_t secret[KEYS_LEN],
                   bool replace, char *err, size_t errlen);

/* Wrap / unwrap in memory: line[KEYS_LINE_MAX] is the file's text. */
#define KEYS_LINE_MAX 256
int keys_wrap(const char *name, const struct keys_kek *kek,
              const uint8_t secret[KEYS_LEN], char line[KEYS_LINE_MAX]);
/* 0; -1 malformed (not a wrapped key of this name); -2 the tag does not
 * verify (wrong KEK, or the file was altered). */
int keys_unwrap(const char *line, size_t len, const char *name,
                const struct keys_kek *kek, uint8_t out[KEYS_LEN]);

/* rename(from, to) then fsync of the folder of `to`. 0 or -1 (errno). */
int keys_rename_durable(const char *from, const char *to);
/* fsync the folder that holds `path`. 0 or -1. */
int keys_sync_dir_of(const char *path);

#endif
