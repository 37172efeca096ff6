/* Adapters from the streaming model APIs to wt_rt_processor: exactly `frame`
 * samples in, `frame` out per step, so the engine's frame scheduler and
 * latency accounting apply unchanged. */
#include "wavetensor/rt_models.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/demucs.h"
#include "wavetensor/mimi.h"
#include "wavetensor/ring.h"
#include "wavetensor/tokfile.h"

struct wt_rt_model {
    /* denoise */
    wt_demucs *demucs;
    wt_demucs_stream *dstream;
    /* codec */
    wt_mimi *mimi;
    wt_mimi_encoder_stream *enc;
    wt_mimi_decoder_stream *dec;
    int64_t *codes;
    int frame;
    int k; /* codebooks */
    /* record: the worker pushes codes (exact as floats: < 2^24) into a ring
     * the writer thread drains into the file */
    wt_ring *code_ring;
    float *code_f;
    wt_tok_writer *writer;
    pthread_t writer_thread;
    bool writer_started;
    sem_t wake;
    atomic_bool stop;
    _Atomic int64_t written, dropped;
    wt_status write_error; /* the writer's first error; read after join */
    /* play */
    wt_tok_file tok;
    bool tok_loaded;
    int64_t next_frame;
    atomic_bool finished;
};

static wt_status stop_writer(wt_rt_model *m) {
    if (!m->writer_started) return WT_OK;
    atomic_store(&m->stop, true);
    sem_post(&m->wake);
    pthread_join(m->writer_thread, NULL);
    m->writer_started = false;
    sem_destroy(&m->wake);
    return m->write_error;
}

wt_status wt_rt_model_finish(wt_rt_model *m) {
    if (!m) return WT_OK;
    wt_status st = stop_writer(m);
    if (m->writer) {
        wt_status cst = wt_tok_writer_close(m->writer);
        m->writer = NULL;
        if (!st) st = cst;
    }
    return st;
}

void wt_rt_model_free(wt_rt_model *m) {
    if (!m) return;
    stop_writer(m);
    if (m->writer) wt_tok_writer_close(m->writer);
    wt_ring_free(m->code_ring);
    free(m->code_f);
    if (m->tok_loaded) wt_tok_file_free(&m->tok);
    wt_demucs_stream_free(m->dstream);
    wt_demucs_free(m->demucs);
    wt_mimi_encoder_stream_free(m->enc);
    wt_mimi_decoder_stream_free(m->dec);
    wt_mimi_free(m->mimi);
    free(m->codes);
    free(m);
}

/* ---- denoise ---- */

/* One stride in; the streamer returns one stride once its window is full
 * and nothing before: those first steps output silence (the lookahead). */
static wt_status denoise_step(void *user, const float *in, float *out) {
    wt_rt_model *m = user;
    int64_t got = 0;
    wt_status st = wt_demucs_stream_feed(m->dstream, in, m->frame, out, m->frame, &got);
    if (st) return st;
    if (got < m->frame) memset(out + got, 0, (size_t)(m->frame - got) * sizeof(float));
    return WT_OK;
}

static void denoise_reset(void *user) {
    wt_rt_model *m = user;
    wt_demucs_stream_reset(m->dstream);
}

/* Steps of silence before the first output, found by asking the streamer
 * (wt_demucs_stream_out_count) rather than re-deriving its arithmetic. */
static int denoise_lookahead(wt_rt_model *m) {
    int steps = 0;
    float *zeros = calloc((size_t)m->frame, sizeof(float));
    float *out = calloc((size_t)m->frame, sizeof(float));
    int64_t got = 0;
    while (zeros && out && steps < 1000) {
        if (wt_demucs_stream_out_count(m->dstream, m->frame) > 0) break;
        if (wt_demucs_stream_feed(m->dstream, zeros, m->frame, out, m->frame, &got)) break;
        steps++;
    }
    free(zeros);
    free(out);
    wt_demucs_stream_reset(m->dstream);
    return steps * m->frame;
}

wt_status wt_rt_denoise_new(const char *config_path, const char *weights_path, float dry,
                            wt_rt_processor *proc, wt_rt_model **out) {
    *out = NULL;
    wt_demucs_config cfg;
    wt_status st = wt_demucs_config_load(config_path, &cfg);
    if (st) return st;
    if (cfg.chin != 1 || cfg.chout != 1 || !cfg.causal)
        return wt_error(WT_ERR_UNSUPPORTED, "%s: live denoise needs a causal mono model", config_path);
    wt_rt_model *m = calloc(1, sizeof *m);
    if (!m) return wt_error(WT_ERR_NOMEM, "out of memory");
    m->demucs = wt_demucs_new(&cfg, weights_path, WT_F32);
    if (m->demucs) m->dstream = wt_demucs_stream_new(m->demucs, dry, 1);
    if (!m->dstream) { /* wt_last_error says why (file, tensor, shape) */
        wt_rt_model_free(m);
        return WT_ERR_INVALID;
    }
    wt_demucs_stream_set_threads(m->dstream, 1);
    m->frame = (int)wt_demucs_stream_get_info(m->dstream)->stride;
    memset(proc, 0, sizeof *proc);
    proc->name = "denoise";
    proc->model_rate = cfg.sample_rate;
    proc->frame = m->frame;
    proc->latency_samples = denoise_lookahead(m);
    proc->user = m;
    proc->step = denoise_step;
    proc->reset = denoise_reset;
    *out = m;
    return WT_OK;
}

/* ---- codec ---- */

static wt_status codec_step(void *user, const float *in, float *out) {
    wt_rt_model *m = user;
    wt_status st = wt_mimi_encoder_stream_step(m->enc, in, NULL, m->codes);
    if (st) return st;
    return wt_mimi_decoder_stream_step(m->dec, m->codes, NULL, out);
}

static void codec_reset(void *user) {
    wt_rt_model *m = user;
    wt_mimi_encoder_stream_reset(m->enc, -1);
    wt_mimi_decoder_stream_reset(m->dec, -1);
}

wt_status wt_rt_codec_new(const char *config_path, const char *weights_path, int codebooks,
                          wt_rt_processor *proc, wt_rt_model **out) {
    *out = NULL;
    wt_mimi_config cfg;
    wt_status st = wt_mimi_config_load(config_path, &cfg);
    if (st) return st;
    if (codebooks <= 0) codebooks = cfg.num_codebooks;
    if (codebooks > cfg.n_q)
        return wt_error(WT_ERR_INVALID, "--codebooks %d: the model has %d", codebooks, cfg.n_q);
    wt_rt_model *m = calloc(1, sizeof *m);
    if (!m) return wt_error(WT_ERR_NOMEM, "out of memory");
    m->mimi = wt_mimi_load(&cfg, weights_path, WT_F32);
    if (m->mimi) m->enc = wt_mimi_encoder_stream_new(m->mimi, 1, codebooks, 1);
    if (m->enc) m->dec = wt_mimi_decoder_stream_new(m->mimi, 1, codebooks, 1);
    m->codes = calloc((size_t)codebooks, sizeof(int64_t));
    if (!m->dec || !m->codes) { /* wt_last_error says why */
        wt_rt_model_free(m);
        return m->codes ? WT_ERR_INVALID : WT_ERR_NOMEM;
    }
    m->frame = wt_mimi_frame_size(&cfg);
    memset(proc, 0, sizeof *proc);
    proc->name = "codec";
    proc->model_rate = cfg.sample_rate;
    proc->frame = m->frame;
    proc->latency_samples = 0;
    proc->user = m;
    proc->step = codec_step;
    proc->reset = codec_reset;
    *out = m;
    return WT_OK;
}

/* ---- record and play ---- */

bool wt_rt_model_finished(const wt_rt_model *m) { return atomic_load(&((wt_rt_model *)m)->finished); }
int64_t wt_rt_model_frames_written(const wt_rt_model *m) { return atomic_load(&((wt_rt_model *)m)->written); }
int64_t wt_rt_model_frames_dropped(const wt_rt_model *m) { return atomic_load(&((wt_rt_model *)m)->dropped); }

static wt_tok_header mimi_header(wt_mimi *mm, int k) {
    const wt_mimi_config *c = wt_mimi_get_config(mm);
    /* The same convention as `wavetensor encode`, so files interchange. */
    wt_tok_header h = {.version = WT_TOK_VERSION, .sample_rate = (uint32_t)c->sample_rate,
                       .frame_rate_num = (uint32_t)(c->frame_rate * 1000 + 0.5),
                       .frame_rate_den = 1000, .frame_samples = (uint32_t)wt_mimi_frame_size(c),
                       .codebooks = (uint32_t)k, .codebook_size = (uint32_t)c->bins,
                       .model_id = wt_mimi_model_id(mm)};
    return h;
}

/* Worker thread: encode, queue the codes for the writer, output silence. */
static wt_status record_step(void *user, const float *in, float *out) {
    wt_rt_model *m = user;
    memset(out, 0, (size_t)m->frame * sizeof(float));
    wt_status st = wt_mimi_encoder_stream_step(m->enc, in, NULL, m->codes);
    if (st) return st;
    if (wt_ring_write_available(m->code_ring) < (size_t)m->k) {
        atomic_fetch_add(&m->dropped, 1);
        return WT_OK;
    }
    for (int i = 0; i < m->k; i++) m->code_f[i] = (float)m->codes[i];
    wt_ring_write(m->code_ring, m->code_f, (size_t)m->k);
    sem_post(&m->wake);
    return WT_OK;
}

static void record_reset(void *user) {
    wt_rt_model *m = user;
    wt_mimi_encoder_stream_reset(m->enc, -1);
}

/* Writer thread: appends each queued frame (the writer flushes per frame,
 * so a killed recording keeps every complete frame); drains before exit. */
static void *writer_main(void *arg) {
    wt_rt_model *m = arg;
    float codes_f[64];
    int64_t codes[64];
    for (;;) {
        bool stopping = atomic_load(&m->stop);
        while (wt_ring_read_available(m->code_ring) >= (size_t)m->k) {
            wt_ring_read(m->code_ring, codes_f, (size_t)m->k);
            for (int i = 0; i < m->k; i++) codes[i] = (int64_t)codes_f[i];
            wt_status st = wt_tok_writer_append(m->writer, codes);
            if (st && !m->write_error) m->write_error = st;
            if (!st) atomic_fetch_add(&m->written, 1);
        }
        if (stopping) break;
        sem_wait(&m->wake);
    }
    return NULL;
}

static wt_status load_mimi(const char *config_path, const char *weights_path, wt_rt_model *m,
                           wt_mimi_config *cfg) {
    wt_status st = wt_mimi_config_load(config_path, cfg);
    if (st) return st;
    m->mimi = wt_mimi_load(cfg, weights_path, WT_F32);
    return m->mimi ? WT_OK : WT_ERR_INVALID; /* wt_last_error says why */
}

wt_status wt_rt_record_new(const char *config_path, const char *weights_path, int codebooks,
                           const char *tok_path, wt_rt_processor *proc, wt_rt_model **out) {
    *out = NULL;
    wt_rt_model *m = calloc(1, sizeof *m);
    if (!m) return wt_error(WT_ERR_NOMEM, "out of memory");
    wt_mimi_config cfg;
    wt_status st = load_mimi(config_path, weights_path, m, &cfg);
    if (!st && codebooks <= 0) codebooks = cfg.num_codebooks;
    if (!st && (codebooks > cfg.n_q || codebooks > 64))
        st = wt_error(WT_ERR_INVALID, "--codebooks %d: the model has %d", codebooks, cfg.n_q);
    if (!st) {
        m->k = codebooks;
        m->frame = wt_mimi_frame_size(&cfg);
        m->enc = wt_mimi_encoder_stream_new(m->mimi, 1, codebooks, 1);
        m->codes = calloc((size_t)codebooks, sizeof(int64_t));
        m->code_f = calloc((size_t)codebooks, sizeof(float));
        if (!m->enc || !m->codes || !m->code_f) st = WT_ERR_NOMEM;
    }
    /* Ten seconds of frames queued before the writer is declared too slow. */
    if (!st) st = wt_ring_new((size_t)codebooks * 128, &m->code_ring);
    if (!st) {
        wt_tok_header h = mimi_header(m->mimi, codebooks);
        m->writer = wt_tok_writer_open(tok_path, &h);
        if (!m->writer) st = WT_ERR_IO;
    }
    if (!st) {
        sem_init(&m->wake, 0, 0);
        if (pthread_create(&m->writer_thread, NULL, writer_main, m)) {
            sem_destroy(&m->wake);
            st = wt_error(WT_ERR_NOMEM, "record: cannot start the writer thread");
        } else {
            m->writer_started = true;
        }
    }
    if (st) {
        wt_rt_model_free(m);
        return st;
    }
    memset(proc, 0, sizeof *proc);
    proc->name = "record";
    proc->model_rate = cfg.sample_rate;
    proc->frame = m->frame;
    proc->user = m;
    proc->step = record_step;
    proc->reset = record_reset;
    *out = m;
    return WT_OK;
}

static wt_status play_step(void *user, const float *in, float *out) {
    wt_rt_model *m = user;
    (void)in;
    if (m->next_frame >= m->tok.frames) {
        memset(out, 0, (size_t)m->frame * sizeof(float));
        atomic_store(&m->finished, true);
        return WT_OK;
    }
    wt_status st = wt_mimi_decoder_stream_step(m->dec, m->tok.codes + m->next_frame * m->k, NULL, out);
    m->next_frame++;
    return st;
}

wt_status wt_rt_play_new(const char *config_path, const char *weights_path, const char *tok_path,
                         wt_rt_processor *proc, wt_rt_model **out) {
    *out = NULL;
    wt_rt_model *m = calloc(1, sizeof *m);
    if (!m) return wt_error(WT_ERR_NOMEM, "out of memory");
    wt_mimi_config cfg;
    wt_status st = load_mimi(config_path, weights_path, m, &cfg);
    if (!st) {
        st = wt_tok_read(tok_path, &m->tok);
        m->tok_loaded = st == WT_OK;
    }
    if (!st) {
        wt_tok_header want = mimi_header(m->mimi, (int)m->tok.h.codebooks);
        st = wt_tok_check(&m->tok.h, &want, (uint32_t)cfg.n_q);
    }
    if (!st) {
        m->k = (int)m->tok.h.codebooks;
        m->frame = wt_mimi_frame_size(&cfg);
        m->dec = wt_mimi_decoder_stream_new(m->mimi, 1, m->k, 1);
        if (!m->dec) st = WT_ERR_INVALID;
    }
    if (st) {
        wt_rt_model_free(m);
        return st;
    }
    memset(proc, 0, sizeof *proc);
    proc->name = "play";
    proc->model_rate = cfg.sample_rate;
    proc->frame = m->frame;
    proc->user = m;
    proc->step = play_step;
    *out = m;
    return WT_OK;
}
