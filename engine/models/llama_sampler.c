/* Llama token sampling: greedy, temperature and top-p (nucleus) with a
 * seeded xorshift64* generator. Scratch is reserved at creation, so
 * sampling never allocates. */
#include <math.h>
#include <stdlib.h>

#include "wavetensor/llama.h"

typedef struct prob_index {
    float p;
    int32_t i;
} prob_index;

struct wt_llama_sampler {
    int64_t vocab;
    float temperature, top_p;
    uint64_t rng;
    prob_index *scratch; /* vocab entries */
};

wt_llama_sampler *wt_llama_sampler_new(int64_t vocab, float temperature, float top_p,
                                       uint64_t seed) {
    if (vocab <= 0 || !(temperature >= 0) || !(top_p >= 0) || top_p > 1) {
        wt_error(WT_ERR_INVALID, "sampler: temperature must be >= 0 and top-p in [0, 1]");
        return NULL;
    }
    wt_llama_sampler *s = calloc(1, sizeof *s);
    if (s) s->scratch = malloc((size_t)vocab * sizeof *s->scratch);
    if (!s || !s->scratch) {
        wt_llama_sampler_free(s);
        wt_error(WT_ERR_NOMEM, "sampler: out of memory");
        return NULL;
    }
    s->vocab = vocab;
    s->temperature = temperature;
    s->top_p = top_p;
    /* a zero state would stay zero forever */
    s->rng = seed ? seed : 0x2545F4914F6CDD1Dull;
    return s;
}

void wt_llama_sampler_free(wt_llama_sampler *s) {
    if (!s) return;
    free(s->scratch);
    free(s);
}

int32_t wt_llama_argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

/* uniform in [0, 1) from the top 24 bits of xorshift64* */
static float next_uniform(uint64_t *st) {
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return (float)((*st * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

static int by_prob_desc(const void *a, const void *b) {
    const prob_index *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->i < y->i ? -1 : (x->i > y->i); /* equal probabilities: lower id first */
}

int32_t wt_llama_sample(wt_llama_sampler *s, const float *logits) {
    int64_t n = s->vocab;
    if (s->temperature == 0.0f) return wt_llama_argmax(logits, n);
    /* softmax(logits / T) into scratch (shifted by the max for range) */
    float mx = logits[wt_llama_argmax(logits, n)];
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        float p = expf((logits[i] - mx) / s->temperature);
        s->scratch[i].p = p;
        s->scratch[i].i = (int32_t)i;
        sum += p;
    }
    float u = next_uniform(&s->rng);
    int64_t m = n;
    double mass = sum;
    if (s->top_p > 0.0f && s->top_p < 1.0f && n > 1) {
        /* Tokens below (1 - top_p) / (n - 1) of the mass can never be in the
         * nucleus (the rest would already exceed top_p), so drop them before
         * sorting. */
        double cutoff = (1.0 - s->top_p) / (double)(n - 1) * sum;
        m = 0;
        for (int64_t i = 0; i < n; i++)
            if (s->scratch[i].p >= cutoff) s->scratch[m++] = s->scratch[i];
        qsort(s->scratch, (size_t)m, sizeof *s->scratch, by_prob_desc);
        double acc = 0, target = s->top_p * sum;
        int64_t last = m - 1;
        for (int64_t i = 0; i < m; i++) {
            acc += s->scratch[i].p;
            if (acc > target) { last = i; break; }
        }
        m = last + 1;
        mass = acc;
    }
    double r = (double)u * mass, acc = 0;
    for (int64_t i = 0; i < m; i++) {
        acc += s->scratch[i].p;
        if (r < acc) return s->scratch[i].i;
    }
    return s->scratch[m - 1].i; /* rounding at the top end */
}
