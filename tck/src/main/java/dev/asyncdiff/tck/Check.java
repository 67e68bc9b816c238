package dev.asyncdiff.tck;

/** The kit's checks, with the stable names reports and rules lists use. */
public enum Check {
    /** The components chained in order on one device reproduce the whole denoiser. */
    SPLIT_EXACTNESS("split-exactness", "components chained in order reproduce the whole denoiser"),
    /** modelN = 1, and warm-up covering every step, equal sequential denoising exactly. */
    DEGENERATE_SCHEDULES("degenerate-schedules", "N = 1 and warm-up >= steps equal sequential exactly"),
    /**
     * For every request kind the adapter serves, asynchronous latents stay within a stated fraction of the
     * seed distance and clearly below a known-bad schedule's distance; the distance falls with warm-up.
     */
    CLOSENESS("closeness", "asynchronous output stays calibrated-close to sequential for every request kind"),
    /** The guided prediction is {@code u + s·(c − u)} of the right branches, and CFG-parallel gives what one batch does. */
    GUIDANCE("guidance", "guidance combines the right branches; CFG-parallel equals guidance in one batch"),
    /** Every denoiser component runs on the device it was placed on, one device each. */
    PLACEMENT("placement", "each component runs on its own device, the one it was placed on"),
    /** The same seed gives the same bytes, for every strategy and for a stochastic sampler. */
    DETERMINISM("determinism", "the same seed gives the same bytes for every strategy"),
    /** Runs do not accumulate native memory or sessions; a failing component surfaces without a hang; closing releases all. */
    LIFECYCLE("lifecycle", "no native memory grows across runs; a component failure surfaces; closing releases all"),
    /** Requests the adapter cannot serve fail with clear messages. */
    INPUT_VALIDATION("input-validation", "requests the adapter cannot serve fail with clear messages");

    private final String id;
    private final String description;

    Check(String id, String description) {
        this.id = id;
        this.description = description;
    }

    /** The stable name, e.g. {@code split-exactness}. */
    public String id() {
        return id;
    }

    public String description() {
        return description;
    }
}
