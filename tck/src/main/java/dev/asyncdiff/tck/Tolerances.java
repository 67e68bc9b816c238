package dev.asyncdiff.tck;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How close asynchronous output must stay to sequential output, calibrated per model: the kit measures
 * the <em>seed distance</em> (the relative L2 distance between the final latents of two sequential runs
 * with different seeds: the natural scale of "a different image") and a <em>known-bad distance</em> (the
 * same asynchronous schedule with every later component fed activations three runs older than it sends),
 * and passes a configuration when its distance is at most its seed fraction of the seed distance and at
 * most its known-bad margin of the known-bad one.
 *
 * @param splitRelativeL2 the largest relative L2 difference between the chained components and the whole
 *                        denoiser after one step (fp32 models: about 1e-5; fp16: about 1e-2); also the
 *                        per-step bound at warm-up &ge; steps, where asynchronous equals chained sequential
 * @param seedFractions   the largest asynchronous distance as a fraction of the seed distance, per
 *                        configuration {@link #key(int, int)}
 * @param knownBadMargins the largest asynchronous distance as a fraction of the known-bad distance, per
 *                        configuration (stride 2 runs each component every other step, so its distance is
 *                        already nearer the known-bad one's plateau)
 * @param warmUpSlack     how much longer warm-up may raise the distance, as a fraction of the seed distance
 *                        (random-weight models are not monotone step by step; trained ones are)
 * @param minPsnrDb       the smallest PSNR of asynchronous against sequential decoded images, in dB; 0: not checked
 * @param minSsim         the smallest mean SSIM of asynchronous against sequential decoded images; 0: not checked
 */
public record Tolerances(double splitRelativeL2, Map<String, Double> seedFractions,
                         Map<String, Double> knownBadMargins, double warmUpSlack, double minPsnrDb, double minSsim) {
    /**
     * The defaults for models with random weights (the synthetic folders, the example DDPM) at the kit's 12
     * steps: each seed fraction is 1.4 to 3 times the largest distance the kit measured for that configuration
     * over every request variant, and each known-bad margin leaves the largest measured ratio (0.67 at stride
     * 1, 0.86 at stride 2) room; the README tabulates the measurements.
     */
    public static final Tolerances RANDOM_WEIGHTS = new Tolerances(1e-4,
            perConfiguration(0.35, 0.40, 0.45, 0.50, 0.55, 0.60), perConfiguration(0.8, 0.8, 0.8, 0.95, 0.95, 0.95),
            0.05, 0, 0);

    /**
     * For trained fp16 models: looser split exactness for half precision, tighter seed fractions, and
     * image-space bounds in the range the AsyncDiff paper reports (its SD 2.1 results keep SSIM near 0.8 and
     * PSNR above 20 dB at N = 2).
     */
    public static final Tolerances TRAINED_FP16 = new Tolerances(1e-2,
            perConfiguration(0.20, 0.25, 0.30, 0.25, 0.30, 0.35), perConfiguration(0.8, 0.8, 0.8, 0.95, 0.95, 0.95),
            0.02, 20.0, 0.7);

    /**
     * Validates and copies.
     *
     * @throws IllegalArgumentException when a bound is out of range or a configuration of the kit has no fraction
     */
    public Tolerances {
        if (!(splitRelativeL2 > 0) || !(warmUpSlack >= 0) || !(minPsnrDb >= 0) || !(minSsim >= 0 && minSsim <= 1)) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "tolerances out of range: split "
                    + "%s (> 0), warm-up slack %s (>= 0), PSNR %s dB (>= 0), SSIM %s (in [0, 1])", splitRelativeL2,
                    warmUpSlack, minPsnrDb, minSsim));
        }
        seedFractions = complete("seed fraction", seedFractions);
        knownBadMargins = complete("known-bad margin", knownBadMargins);
    }

    /** The configuration key of the seed fractions, e.g. {@code N=2 stride=1}. */
    public static String key(int n, int stride) {
        return "N=" + n + " stride=" + stride;
    }

    /** The fraction of the seed distance configuration {@code (n, stride)} may reach. */
    public double seedFraction(int n, int stride) {
        return lookup(seedFractions, n, stride);
    }

    /** The fraction of the known-bad distance configuration {@code (n, stride)} may reach. */
    public double knownBadMargin(int n, int stride) {
        return lookup(knownBadMargins, n, stride);
    }

    private static double lookup(Map<String, Double> values, int n, int stride) {
        Double value = values.get(key(n, stride));
        if (value == null) {
            throw new IllegalArgumentException("no tolerance for " + key(n, stride) + "; have " + values.keySet());
        }
        return value;
    }

    /** These tolerances with every configuration's seed fraction {@code fraction}. */
    public Tolerances withSeedFraction(double fraction) {
        return new Tolerances(splitRelativeL2, all(fraction), knownBadMargins, warmUpSlack, minPsnrDb, minSsim);
    }

    /** These tolerances with configuration {@code (n, stride)}'s seed fraction {@code fraction}. */
    public Tolerances withSeedFraction(int n, int stride, double fraction) {
        Map<String, Double> changed = new LinkedHashMap<>(seedFractions);
        changed.put(key(n, stride), fraction);
        return new Tolerances(splitRelativeL2, changed, knownBadMargins, warmUpSlack, minPsnrDb, minSsim);
    }

    /** These tolerances with every configuration's known-bad margin {@code margin}. */
    public Tolerances withKnownBadMargin(double margin) {
        return new Tolerances(splitRelativeL2, seedFractions, all(margin), warmUpSlack, minPsnrDb, minSsim);
    }

    /** These tolerances with another split exactness bound. */
    public Tolerances withSplitRelativeL2(double value) {
        return new Tolerances(value, seedFractions, knownBadMargins, warmUpSlack, minPsnrDb, minSsim);
    }

    /** These tolerances with image-space bounds (0 leaves one unchecked). */
    public Tolerances withImageBounds(double psnrDb, double ssim) {
        return new Tolerances(splitRelativeL2, seedFractions, knownBadMargins, warmUpSlack, psnrDb, ssim);
    }

    /** Values for N = 2, 3, 4 at stride 1, then N = 2, 3, 4 at stride 2. */
    private static Map<String, Double> perConfiguration(double... values) {
        Map<String, Double> map = new LinkedHashMap<>();
        for (int stride = 1, i = 0; stride <= 2; stride++) {
            for (int n = 2; n <= CompatibilityKit.MAX_N; n++, i++) {
                map.put(key(n, stride), values[i]);
            }
        }
        return map;
    }

    private static Map<String, Double> all(double value) {
        double[] values = new double[2 * (CompatibilityKit.MAX_N - 1)];
        java.util.Arrays.fill(values, value);
        return perConfiguration(values);
    }

    /** An unmodifiable copy, checked to hold a value > 0 for every configuration the kit runs. */
    private static Map<String, Double> complete(String what, Map<String, Double> values) {
        Map<String, Double> copy = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        for (String key : perConfiguration(new double[2 * (CompatibilityKit.MAX_N - 1)]).keySet()) {
            Double value = copy.get(key);
            if (value == null || !(value > 0)) {
                throw new IllegalArgumentException("tolerances need a " + what + " > 0 for " + key + ", have " + copy);
            }
        }
        return copy;
    }
}
