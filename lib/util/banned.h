/*
 * Functions that are easy to misuse.  Using one is a build error (after
 * git's banned.h): use struct cpk_buf, snprintf or memcpy with a known size.
 */
#ifndef CPK_BANNED_H
#define CPK_BANNED_H

#define CPK_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) CPK_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CPK_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) CPK_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) CPK_BANNED(strncat)
#undef sprintf
#define sprintf(...) CPK_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CPK_BANNED(vsprintf)
#undef gets
#define gets(x) CPK_BANNED(gets)
#undef strtok
#define strtok(x, y) CPK_BANNED(strtok)
#undef atoi
#define atoi(x) CPK_BANNED(atoi)

#endif
