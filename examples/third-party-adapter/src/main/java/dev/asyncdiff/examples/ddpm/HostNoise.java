package dev.asyncdiff.examples.ddpm;

import java.util.SplittableRandom;

/**
 * The initial noise of a generation, made on the host so that it depends on the seed alone, never on
 * the backend, the devices or the strategy: image {@code i} of a batch draws standard normal values
 * from a {@link SplittableRandom} seeded with {@code seed + i} by the Box–Muller transform (both values
 * of each pair used, in order), so image {@code i} of seed {@code s} equals image 0 of seed
 * {@code s + i}. Stateless and thread-safe.
 */
final class HostNoise {
    private HostNoise() {
    }

    /** {@code count} standard normal values for the image with seed {@code seed}. */
    static float[] gaussian(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
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

    /** The noise of a batch: {@code images} blocks of {@code perImage} values, block {@code i} from {@code seed + i}. */
    static float[] batch(long seed, int images, int perImage) {
        float[] all = new float[Math.multiplyExact(images, perImage)];
        for (int i = 0; i < images; i++) {
            System.arraycopy(gaussian(seed + i, perImage), 0, all, i * perImage, perImage);
        }
        return all;
    }
}
