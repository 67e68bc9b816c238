package dev.asyncdiff.adapters.sd;

import java.util.SplittableRandom;

/**
 * The initial noise of a generation, made on the host so that it depends only on the seed, never
 * on the backend, the devices or the strategy: image {@code i} of a batch draws standard normal
 * values from a {@link SplittableRandom} seeded with {@code seed + i} by the Box–Muller transform
 * (both values of each pair used, in order). So image {@code i} of seed {@code s} equals image 0 of
 * seed {@code s + i}. Stateless and thread-safe.
 */
public final class LatentNoise {
    private LatentNoise() {
    }

    /** {@code count} standard normal values for image {@code index} of a batch with {@code seed}. */
    public static float[] gaussian(long seed, int index, int count) {
        SplittableRandom random = new SplittableRandom(seed + index);
        float[] values = new float[count];
        for (int i = 0; i < count; i += 2) {
            double u1 = 1.0 - random.nextDouble();
            double u2 = random.nextDouble();
            double radius = Math.sqrt(-2.0 * Math.log(u1));
            values[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
            if (i + 1 < count) {
                values[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
            }
        }
        return values;
    }

    /** The noise of a whole batch, {@code images} blocks of {@code perImage} values one after another. */
    public static float[] batch(long seed, int images, int perImage) {
        float[] all = new float[Math.multiplyExact(images, perImage)];
        for (int i = 0; i < images; i++) {
            System.arraycopy(gaussian(seed, i, perImage), 0, all, i * perImage, perImage);
        }
        return all;
    }
}
