package dev.asyncdiff.tck;

/** The kit's checks, with the stable names reports and rules lists use. */
public enum Check {
    /** The components chained in order on one device reproduce the whole denoiser. */
    SPLIT_EXACTNESS("split-exactness", "components chained in order reproduce the whole denoiser"),
    /** modelN = 1, and warm-up covering every step, equal sequential denoising exactly. */
    DEGENERATE_SCHEDULES("degenerate-schedules", "N = 1 and warm-up >= steps equal sequential exactly"),
    /** Asynchronous latents and images stay within the declared tolerances of sequential ones. */
    CLOSENESS("closeness", "asynchronous output stays close to sequential; the error does not grow with warm-up"),
    /** The same seed gives the same bytes, for every strategy. */
    DETERMINISM("determinism", "the same seed gives the same bytes for every strategy"),
    /** Closing releases every session and thread; a failing component surfaces without a hang. */
    LIFECYCLE("lifecycle", "closing releases sessions and threads; a component failure surfaces as an exception"),
    /** Impossible configurations fail with clear messages. */
    INPUT_VALIDATION("input-validation", "impossible configurations fail with clear messages");

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
