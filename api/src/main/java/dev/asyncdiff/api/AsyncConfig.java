package dev.asyncdiff.api;

/**
 * The asynchronous-denoising settings of the original AsyncDiff.
 *
 * @param modelN    the number of components the denoiser is split into (N &ge; 1)
 * @param stride    1 (every component runs each step) or 2 (compute every other step, on N + 1
 *                  devices, the last replicating the final component)
 * @param warmUp    the number of ordinary sequential steps before parallel steps begin (&ge; 1)
 * @param timeShift whether parallel components take the previous step's timestep
 *
 * <p>With {@code modelN} 1 there is nothing to run in parallel: every step is an ordinary sequential
 * step, so stride and time shift change nothing (the original's N = 1 with stride 2 or time shift
 * steps from stale inputs; here it reproduces sequential denoising exactly).
 */
public record AsyncConfig(int modelN, int stride, int warmUp, boolean timeShift) {
    /** One component, which reproduces ordinary sequential denoising. */
    public static final AsyncConfig SEQUENTIAL = new AsyncConfig(1, 1, 1, false);

    public AsyncConfig {
        if (modelN < 1) {
            throw new IllegalArgumentException("modelN must be >= 1, was " + modelN);
        }
        if (stride != 1 && stride != 2) {
            throw new IllegalArgumentException("stride must be 1 or 2, was " + stride);
        }
        if (warmUp < 1) {
            throw new IllegalArgumentException("warmUp must be >= 1 sequential step, was " + warmUp);
        }
    }

    /** The original's {@code AsyncDiff(pipeline, model_n, stride, time_shift)}, with one warm-up step. */
    public static AsyncConfig of(int modelN, int stride, boolean timeShift) {
        return new AsyncConfig(modelN, stride, 1, timeShift);
    }

    /** A copy with another number of warm-up steps. */
    public AsyncConfig withWarmUp(int steps) {
        return new AsyncConfig(modelN, stride, steps, timeShift);
    }

    /**
     * The number of devices this configuration runs on: N for stride 1, N + 1 for stride 2; 1 for N = 1,
     * which runs ordinary sequential steps whatever the stride.
     */
    public int devicesRequired() {
        return stride == 2 && modelN > 1 ? modelN + 1 : modelN;
    }
}
