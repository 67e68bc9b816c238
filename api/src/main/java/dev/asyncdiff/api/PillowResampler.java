package dev.asyncdiff.api;

/**
 * Pillow's {@code ImagingResample} for 8-bit RGB: a horizontal pass into a temporary image holding the rows the
 * vertical pass reads, then the vertical pass, each with the filter's weights normalised per output pixel, turned
 * into 22-bit fixed point, accumulated from a half and clipped to a byte — so the result equals Pillow's to the pixel.
 */
final class PillowResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PillowResampler() {
    }

    /** One axis's taps: for output pixel {@code i}, {@code count[i]} weights from source pixel {@code first[i]}. */
    private record Taps(int[] first, int[] count, int[][] weights) {
    }

    /**
     * {@code rgb} ({@code height × width} packed 0xRRGGBB) resampled to {@code outHeight × outWidth} with
     * {@code filter}.
     */
    static int[] resample(int[] rgb, int width, int height, int outWidth, int outHeight, Resample filter) {
        Taps horizontal = taps(width, outWidth, filter);
        Taps vertical = taps(height, outHeight, filter);
        int[] source = rgb;
        int rows = height;
        int firstRow = 0;
        if (outWidth != width) {
            firstRow = vertical.first()[0];
            int lastRow = vertical.first()[outHeight - 1] + vertical.count()[outHeight - 1];
            rows = lastRow - firstRow;
            int[] temp = new int[rows * outWidth];
            for (int y = 0; y < rows; y++) {
                int row = (y + firstRow) * width;
                for (int x = 0; x < outWidth; x++) {
                    temp[y * outWidth + x] = convolve(source, row, 1, horizontal.first()[x], horizontal.count()[x],
                            horizontal.weights()[x]);
                }
            }
            source = temp;
        }
        int stride = outWidth;
        if (outHeight == height && firstRow == 0) {
            return source.length == outWidth * outHeight ? source : source.clone();
        }
        int[] out = new int[outHeight * outWidth];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                out[y * outWidth + x] = convolve(source, x, stride, vertical.first()[y] - firstRow, vertical.count()[y],
                        vertical.weights()[y]);
            }
        }
        return out;
    }

    /** Pillow's {@code precompute_coeffs} and {@code normalize_coeffs_8bpc}. */
    private static Taps taps(int inSize, int outSize, Resample filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[][] weights = new int[outSize][];
        for (int i = 0; i < outSize; i++) {
            double center = (i + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), inSize) - min;
            double[] k = new double[Math.max(max, 0)];
            double sum = 0;
            for (int x = 0; x < k.length; x++) {
                k[x] = filter.weight((x + min - center + 0.5) / filterScale);
                sum += k[x];
            }
            int[] fixed = new int[k.length];
            for (int x = 0; x < k.length; x++) {
                double w = sum != 0.0 ? k[x] / sum : k[x];
                fixed[x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            first[i] = min;
            count[i] = k.length;
            weights[i] = fixed;
        }
        return new Taps(first, count, weights);
    }

    /** The three channels of {@code count} pixels from {@code base + start·step}, weighted and clipped. */
    private static int convolve(int[] pixels, int base, int step, int start, int count, int[] weights) {
        long r = 1L << (PRECISION_BITS - 1);
        long g = r;
        long b = r;
        for (int t = 0; t < count; t++) {
            int p = pixels[base + (start + t) * step];
            long w = weights[t];
            r += ((p >> 16) & 0xFF) * w;
            g += ((p >> 8) & 0xFF) * w;
            b += (p & 0xFF) * w;
        }
        return (clip(r) << 16) | (clip(g) << 8) | clip(b);
    }

    private static int clip(long value) {
        int v = (int) value;   // Pillow accumulates in a 32-bit int
        if (v >= (1 << PRECISION_BITS << 8)) {
            return 255;
        }
        return v <= 0 ? 0 : v >> PRECISION_BITS;
    }
}
