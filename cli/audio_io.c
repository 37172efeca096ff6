/* Audio files for the CLI: libsndfile decoding/encoding, libsamplerate
 * resampling, atomic WAV writes (see cli/audio_io.h). */
#define _POSIX_C_SOURCE 200809L

#include "cli/audio_io.h"

#include <errno.h>
#include <limits.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Frames read per sf_readf_float call: bounds the interleaved scratch buffer
 * for files with many channels. */
#define READ_BLOCK 65536

void wt_audio_free(wt_audio *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
    a->frames = 0;
}

static bool subtype_is_float(int format) {
    int sub = format & SF_FORMAT_SUBMASK;
    return sub == SF_FORMAT_FLOAT || sub == SF_FORMAT_DOUBLE;
}

/* Reads every frame of an open file, averaging channels into *out. */
static wt_status read_mixed(SNDFILE *sf, const SF_INFO *info, const char *path, float **out,
                            int64_t *n_out) {
    int ch = info->channels;
    int64_t cap = info->frames > 0 ? info->frames : READ_BLOCK;
    float *mono = malloc((size_t)cap * sizeof *mono);
    float *block = malloc((size_t)READ_BLOCK * (size_t)ch * sizeof *block);
    if (!mono || !block) {
        free(mono);
        free(block);
        return wt_error(WT_ERR_NOMEM, "%s: out of memory reading %lld frames", path,
                        (long long)cap);
    }
    int64_t n = 0;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, block, READ_BLOCK);
        if (got <= 0) break;
        if (n + got > cap) { /* the header's frame count was short or unknown */
            int64_t ncap = cap * 2 > n + got ? cap * 2 : n + got;
            float *grown = realloc(mono, (size_t)ncap * sizeof *mono);
            if (!grown) {
                free(mono);
                free(block);
                return wt_error(WT_ERR_NOMEM, "%s: out of memory reading audio", path);
            }
            mono = grown;
            cap = ncap;
        }
        for (sf_count_t i = 0; i < got; i++) {
            double s = 0;
            for (int c = 0; c < ch; c++) s += block[i * ch + c];
            mono[n + i] = (float)(s / ch);
        }
        n += got;
    }
    free(block);
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        free(mono);
        return wt_error(WT_ERR_FORMAT, "%s: cannot decode audio: %s", path, sf_strerror(sf));
    }
    *out = mono;
    *n_out = n;
    return WT_OK;
}

wt_status wt_audio_read_mono(const char *path, int rate, wt_audio *out) {
    memset(out, 0, sizeof *out);
    if (rate < 0) return wt_error(WT_ERR_INVALID, "%s: invalid target sample rate %d", path, rate);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        /* libsndfile reports a missing file and an unknown format alike;
         * tell them apart for the user. */
        if (access(path, R_OK) != 0)
            return wt_error(WT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return wt_error(WT_ERR_FORMAT, "%s: not a readable audio file (%s)", path,
                        sf_strerror(NULL));
    }
    if (info.channels < 1 || info.samplerate < 1) {
        sf_close(sf);
        return wt_error(WT_ERR_FORMAT, "%s: invalid audio header (%d channels, %d Hz)", path,
                        info.channels, info.samplerate);
    }
    float *mono = NULL;
    int64_t n = 0;
    wt_status st = read_mixed(sf, &info, path, &mono, &n);
    sf_close(sf);
    if (st != WT_OK) return st;
    if (n == 0) {
        free(mono);
        return wt_error(WT_ERR_FORMAT, "%s: the file holds no audio frames", path);
    }
    out->file_rate = info.samplerate;
    out->file_channels = info.channels;
    out->file_is_float = subtype_is_float(info.format);
    if (rate == 0 || rate == info.samplerate) {
        out->data = mono;
        out->frames = n;
        out->rate = info.samplerate;
        return WT_OK;
    }
    float *res = NULL;
    int64_t nres = 0;
    st = wt_audio_resample(mono, n, info.samplerate, rate, &res, &nres);
    free(mono);
    if (st != WT_OK) return wt_error(st, "%s: %s", path, wt_last_error());
    out->data = res;
    out->frames = nres;
    out->rate = rate;
    return WT_OK;
}

wt_status wt_audio_resample(const float *in, int64_t n, int in_rate, int out_rate, float **out,
                            int64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (in_rate <= 0 || out_rate <= 0)
        return wt_error(WT_ERR_INVALID, "invalid sample rates %d -> %d Hz", in_rate, out_rate);
    double ratio = (double)out_rate / (double)in_rate;
    if (!src_is_valid_ratio(ratio))
        return wt_error(WT_ERR_UNSUPPORTED, "cannot resample %d Hz -> %d Hz (ratio out of range)",
                        in_rate, out_rate);
    if (n < 0 || n > (int64_t)LONG_MAX / 2)
        return wt_error(WT_ERR_INVALID, "invalid signal length %lld", (long long)n);
    /* The output length a continuous resampler would give: round(n * ratio). */
    int64_t want = (int64_t)((double)n * ratio + 0.5);
    float *buf = malloc((size_t)(want + 1) * sizeof *buf);
    if (!buf) return wt_error(WT_ERR_NOMEM, "out of memory resampling %lld samples", (long long)n);
    if (n == 0 || want == 0) {
        *out = buf;
        return WT_OK;
    }
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = in;
    d.input_frames = (long)n;
    d.data_out = buf;
    d.output_frames = (long)want;
    d.src_ratio = ratio;
    d.end_of_input = 1;
    int err = src_simple(&d, SRC_SINC_BEST_QUALITY, 1);
    if (err) {
        free(buf);
        return wt_error(WT_ERR_INVALID, "resampling %d -> %d Hz failed: %s", in_rate, out_rate,
                        src_strerror(err));
    }
    /* src_simple may stop a sample or two short of round(n*ratio); pad with
     * the last value so callers get the length they expect. */
    int64_t got = d.output_frames_gen;
    for (int64_t i = got; i < want; i++) buf[i] = got > 0 ? buf[got - 1] : 0.0f;
    *out = buf;
    *n_out = want;
    return WT_OK;
}

/* Directory part of path for the temporary file ("." when none). */
static void dir_of(const char *path, char *buf, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(buf, n, ".");
    } else if (slash == path) {
        snprintf(buf, n, "/");
    } else {
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
    }
}

wt_status wt_audio_write_wav(const char *path, const float *data, int64_t frames, int rate,
                             bool float32) {
    if (rate <= 0) return wt_error(WT_ERR_INVALID, "%s: invalid sample rate %d", path, rate);
    if (frames < 0 || (frames > 0 && !data))
        return wt_error(WT_ERR_INVALID, "%s: invalid audio buffer", path);
    char dir[4096], tmp[4200];
    dir_of(path, dir, sizeof dir);
    snprintf(tmp, sizeof tmp, "%s/.wavetensor-XXXXXX", dir);
    /* The temp file sits next to the target so rename() is atomic. */
    int fd = mkstemp(tmp);
    if (fd < 0) return wt_error(WT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    /* mkstemp makes the file private; give it the mode a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | (float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
    if (!sf) {
        close(fd);
        unlink(tmp);
        return wt_error(WT_ERR_IO, "%s: cannot write WAV: %s", path, sf_strerror(NULL));
    }
    if (!float32) sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t done = 0;
    while (done < frames) {
        sf_count_t want = frames - done > READ_BLOCK ? READ_BLOCK : frames - done;
        sf_count_t put = sf_writef_float(sf, data + done, want);
        if (put != want) break;
        done += put;
    }
    int werr = sf_error(sf);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", sf_strerror(sf));
    int cerr = sf_close(sf);
    if (done != frames || werr != SF_ERR_NO_ERROR || cerr != 0) {
        unlink(tmp);
        return wt_error(WT_ERR_IO, "%s: writing failed: %s", path, msg);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return wt_error(WT_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return WT_OK;
}
