package dev.asyncdiff.api;


/** Told when a generation enters a phase and after each denoising step, on the generating thread. */
public interface GenerationListener {
    /** A listener that ignores everything. */
    GenerationListener NONE = new GenerationListener() { };

    /** The generation starts {@code phase}. */
    default void onPhase(GenerationPhase phase) {
    }

    /** A denoising step finished. */
    default void onStep(StepProgress progress) {
    }

    /** Video: the VAE decoded a chunk of frames, {@code decoded} of the clips' {@code total} frames so far. */
    default void onFramesDecoded(int decoded, int total) {
    }
}
