// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "symbolize.h"

#define MAX_FILES 64

struct sym {
	unsigned long long start, size;
	char *name;
};

struct elf_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	time_t mtime;
	struct sym *syms;            /* sorted by start */
	size_t nr_syms;
	struct { unsigned long long off, vaddr, filesz; } load[16];
	int nr_load;
	unsigned long last_use;
};

struct ks_symbolizer {
	struct elf_file files[MAX_FILES];
	int nr_files;
	unsigned long clock;
};

struct ks_symbolizer *ks_symbolizer_new(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return calloc(1, sizeof(struct ks_symbolizer));
}

static void file_clear(struct elf_file *f)
{
	size_t i;

	for (i = 0; i < f->nr_syms; i++)
		free(f->syms[i].name);
	free(f->syms);
	memset(f, 0, sizeof(*f));
}

void ks_symbolizer_free(struct ks_symbolizer *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nr_files; i++)
		file_clear(&s->files[i]);
	free(s);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Function symbols of one section (SHT_SYMTAB or SHT_DYNSYM). */
static int read_syms(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct elf_file *f)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	struct sym *grown;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	grown = realloc(f->syms, (f->nr_syms + n) * sizeof(*f->syms));
	if (!grown)
		return -ENOMEM;
	f->syms = grown;
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(data, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		f->syms[f->nr_syms].start = s.st_value;
		f->syms[f->nr_syms].size = s.st_size;
		f->syms[f->nr_syms].name = strdup(name);
		if (!f->syms[f->nr_syms].name)
			return -ENOMEM;
		f->nr_syms++;
	}
	return 0;
}

static int load_file(const char *path, struct elf_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t i, nph;
	int fd, err = 0;
	bool have_symtab = false;
	Elf *elf;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	if (!elf_getphdrnum(elf, &nph))
		for (i = 0; i < nph && f->nr_load < 16; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
				f->load[f->nr_load].off = ph.p_offset;
				f->load[f->nr_load].vaddr = ph.p_vaddr;
				f->load[f->nr_load].filesz = ph.p_filesz;
				f->nr_load++;
			}
		}
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
			have_symtab = true;
			err = read_syms(elf, scn, &sh, f);
		}
	/* stripped: the dynamic symbols are what is left */
	while (!err && !have_symtab && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			err = read_syms(elf, scn, &sh, f);
	if (!err)
		qsort(f->syms, f->nr_syms, sizeof(*f->syms), cmp_sym);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

/* The cached symbol table of path (by identity), loading it on a miss and
 * evicting the least recently used entry when full. */
static struct elf_file *get_file(struct ks_symbolizer *s, const char *path)
{
	struct elf_file *f = NULL;
	struct stat st;
	int i, victim = 0;

	if (stat(path, &st))
		return NULL;
	for (i = 0; i < s->nr_files; i++) {
		f = &s->files[i];
		if (f->dev == st.st_dev && f->ino == st.st_ino && f->size == st.st_size &&
		    f->mtime == st.st_mtime) {
			f->last_use = ++s->clock;
			return f;
		}
		if (f->last_use < s->files[victim].last_use)
			victim = i;
	}
	if (s->nr_files < MAX_FILES)
		victim = s->nr_files++;
	f = &s->files[victim];
	file_clear(f);
	/* a file that fails to load is cached empty: no retry on every sample */
	if (load_file(path, f))
		file_clear(f);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtime;
	f->last_use = ++s->clock;
	return f;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Whether path is a regular file that opens for reading with this
 * process's effective capabilities: access() asks with the permitted ones
 * when the real uid is 0, so a root that dropped DAC overrides from its
 * effective set only would be told yes for a file it cannot open.  Only
 * regular files are opened: opening a mapped device node is not ours to
 * do (a driver may act on open). */
static bool openable(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ks_symbolize, and the mapped file (or "[anon]", "[heap]"...) into module
 * when modlen > 0. */
static int symbolize(struct ks_symbolizer *s, pid_t pid, unsigned long long addr, char *out, size_t outlen,
		     char *module, size_t modlen)
{
	char maps[64], line[4096], path[4096];
	unsigned long long lo, hi, pgoff, foff, vaddr = 0;
	bool found = false;
	struct elf_file *f;
	FILE *m;
	int i;

	snprintf(out, outlen, "[unknown]");
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	m = fopen(maps, "re");
	if (!m)
		return -errno;
	path[0] = '\0';
	while (fgets(line, sizeof(line), m)) {
		char perms[8];
		int n = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*u %n", &lo, &hi, perms, &pgoff, &n) < 4)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		found = true;
		snprintf(path, sizeof(path), "%s", line + n);
		path[strcspn(path, "\n")] = '\0';
		break;
	}
	fclose(m);
	if (!found)
		return 1;
	if (modlen)
		snprintf(module, modlen, "%s", path[0] ? path : "[anon]");
	foff = addr - lo + pgoff;
	if (path[0] != '/') {
		snprintf(out, outlen, "%s+0x%llx", path[0] ? path : "[anon]", addr - lo);
		return 1;
	}
	/* read through the process's root, so a container's files are found;
	 * a file replaced on disk since it was mapped (an upgrade, a rebuild)
	 * shows as "PATH (deleted)", and one under a directory we may not
	 * enter (a non-root container's 0700 home: without DAC overrides
	 * root is just another user there) is refused by its path: both are
	 * read through map_files, which opens the mapped file itself
	 * (CAP_CHECKPOINT_RESTORE and ptrace access) */
	if ((strlen(path) <= 10 || strcmp(path + strlen(path) - 10, " (deleted)")) &&
	    (size_t)snprintf(line, sizeof(line), "/proc/%d/root%s", (int)pid, path) < sizeof(line) && openable(line)) {
		f = get_file(s, line);
	} else {
		snprintf(line, sizeof(line), "/proc/%d/map_files/%llx-%llx", (int)pid, lo, hi);
		f = get_file(s, openable(line) ? line : path);
	}
	if (f) {
		for (i = 0; i < f->nr_load; i++)
			if (foff >= f->load[i].off && foff < f->load[i].off + f->load[i].filesz) {
				vaddr = f->load[i].vaddr + (foff - f->load[i].off);
				break;
			}
		if (i < f->nr_load && f->nr_syms) {
			size_t lo_i = 0, hi_i = f->nr_syms;

			/* the last symbol starting at or below vaddr */
			while (hi_i - lo_i > 1) {
				size_t mid = (lo_i + hi_i) / 2;

				if (f->syms[mid].start <= vaddr)
					lo_i = mid;
				else
					hi_i = mid;
			}
			if (f->syms[lo_i].start <= vaddr &&
			    (!f->syms[lo_i].size || vaddr < f->syms[lo_i].start + f->syms[lo_i].size)) {
				snprintf(out, outlen, "%s+0x%llx", f->syms[lo_i].name, vaddr - f->syms[lo_i].start);
				return 0;
			}
		}
	}
	snprintf(out, outlen, "%s+0x%llx", base_name(path), foff);
	return 1;
}

int ks_symbolize(struct ks_symbolizer *s, pid_t pid, unsigned long long addr, char *out, size_t outlen)
{
	return symbolize(s, pid, addr, out, outlen, NULL, 0);
}

int ks_symbolize_split(struct ks_symbolizer *s, pid_t pid, unsigned long long addr, char *func,
		       size_t funclen, char *module, size_t modlen)
{
	char *plus;
	int rc;

	if (modlen)
		module[0] = '\0';
	rc = symbolize(s, pid, addr, func, funclen, module, modlen);
	/* a function name without its offset, so samples anywhere in the
	 * function add up */
	if (rc == 0 && (plus = strrchr(func, '+')))
		*plus = '\0';
	return rc;
}
