package dev.asyncdiff.tck;

/**
 * What an adapter declares about how close asynchronous output must stay to sequential output.
 *
 * @param splitRelativeL2 the largest relative L2 difference between the chained components and the
 *                        whole denoiser after one step (fp32 models: about 1e-5; fp16: about 1e-2)
 * @param maxRelativeL2   the largest relative L2 error of asynchronous final latents against sequential
 * @param minPsnrDb       the smallest PSNR of asynchronous decoded images against sequential, in dB
 */
public record Tolerances(double splitRelativeL2, double maxRelativeL2, double minPsnrDb) {
    /**
     * Tolerances for models with random weights (the synthetic folders), whose asynchronous error
     * is far larger than a trained model's: only gross errors fail.
     */
    public static final Tolerances RANDOM_WEIGHTS = new Tolerances(1e-4, 1.0, 5.0);

    /** Tolerances in the range the AsyncDiff paper reports for trained fp16 models. */
    public static final Tolerances TRAINED_FP16 = new Tolerances(1e-2, 0.25, 20.0);

    public Tolerances {
        if (!(splitRelativeL2 > 0) || !(maxRelativeL2 > 0) || !(minPsnrDb >= 0)) {
            throw new IllegalArgumentException("tolerances must be positive, were " + splitRelativeL2 + ", "
                    + maxRelativeL2 + ", " + minPsnrDb);
        }
    }
}
