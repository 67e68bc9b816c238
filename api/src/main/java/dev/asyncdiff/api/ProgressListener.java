package dev.asyncdiff.api;

/** Receives a {@link StepProgress} after each denoising step, on the thread running the loop. */
@FunctionalInterface
public interface ProgressListener {
    /** A listener that ignores progress. */
    ProgressListener NONE = progress -> { };

    void onStep(StepProgress progress);
}
