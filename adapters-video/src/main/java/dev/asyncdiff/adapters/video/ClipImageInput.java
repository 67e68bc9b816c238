package dev.asyncdiff.adapters.video;

/**
 * SVD's image-encoder input as diffusers prepares it ({@code StableVideoDiffusionPipeline._encode_image}): the still
 * in [-1, 1] is blurred with a Gaussian and resized bicubically (align_corners) to the encoder's side — kornia's
 * antialiased resize, {@code _resize_with_antialiasing} — then mapped back to [0, 1] and normalised with CLIP's mean
 * and standard deviation.
 */
final class ClipImageInput {
    /** torch's bicubic convolution constant. */
    private static final double CUBIC_A = -0.75;

    private ClipImageInput() {
    }

    /**
     * The encoder's {@code pixel_values} {@code [3, size, size]} from {@code chw} ({@code [3, height, width]} in
     * [-1, 1]).
     */
    static float[] pixelValues(float[] chw, int height, int width, int size, double[] mean, double[] std) {
        float[] resized = resizeWithAntialiasing(chw, 3, height, width, size, size);
        int plane = size * size;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                double unit = (resized[c * plane + i] + 1.0) / 2.0;
                resized[c * plane + i] = (float) ((unit - mean[c]) / std[c]);
            }
        }
        return resized;
    }

    /** kornia's antialiased resize of {@code channels} planes of {@code height × width} to {@code outH × outW}. */
    static float[] resizeWithAntialiasing(float[] planes, int channels, int height, int width, int outH, int outW) {
        double sigmaY = Math.max((height / (double) outH - 1.0) / 2.0, 0.001);
        double sigmaX = Math.max((width / (double) outW - 1.0) / 2.0, 0.001);
        int kernelY = oddAtLeastThree(sigmaY);
        int kernelX = oddAtLeastThree(sigmaX);
        float[] blurred = blurRows(planes, channels, height, width, gaussian(kernelX, sigmaX));
        blurred = blurColumns(blurred, channels, height, width, gaussian(kernelY, sigmaY));
        return bicubicAlignCorners(blurred, channels, height, width, outH, outW);
    }

    private static int oddAtLeastThree(double sigma) {
        int size = (int) Math.max(2.0 * 2 * sigma, 3);
        return size % 2 == 0 ? size + 1 : size;
    }

    /** The normalised Gaussian window of odd {@code size}, computed in float as torch does. */
    static float[] gaussian(int size, double sigma) {
        float s = (float) sigma;
        float[] window = new float[size];
        float sum = 0;
        for (int i = 0; i < size; i++) {
            float x = i - size / 2;
            window[i] = (float) Math.exp(-(x * x) / (2 * s * s));
            sum += window[i];
        }
        for (int i = 0; i < size; i++) {
            window[i] /= sum;
        }
        return window;
    }

    private static float[] blurRows(float[] in, int channels, int height, int width, float[] kernel) {
        float[] out = new float[in.length];
        int half = kernel.length / 2;
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < height; y++) {
                int row = (c * height + y) * width;
                for (int x = 0; x < width; x++) {
                    float sum = 0;
                    for (int k = 0; k < kernel.length; k++) {
                        sum += kernel[k] * in[row + reflect(x + k - half, width)];
                    }
                    out[row + x] = sum;
                }
            }
        }
        return out;
    }

    private static float[] blurColumns(float[] in, int channels, int height, int width, float[] kernel) {
        float[] out = new float[in.length];
        int half = kernel.length / 2;
        for (int c = 0; c < channels; c++) {
            int plane = c * height * width;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    float sum = 0;
                    for (int k = 0; k < kernel.length; k++) {
                        sum += kernel[k] * in[plane + reflect(y + k - half, height) * width + x];
                    }
                    out[plane + y * width + x] = sum;
                }
            }
        }
        return out;
    }

    /** torch's {@code reflect} padding index: the edge is not repeated. */
    private static int reflect(int i, int size) {
        if (size == 1) {
            return 0;
        }
        int period = 2 * (size - 1);
        int m = Math.floorMod(i, period);
        return m < size ? m : period - m;
    }

    /** torch's {@code interpolate(mode="bicubic", align_corners=True)}: borders clamped. */
    private static float[] bicubicAlignCorners(float[] in, int channels, int height, int width, int outH, int outW) {
        float[] out = new float[channels * outH * outW];
        double scaleY = outH > 1 ? (height - 1) / (double) (outH - 1) : 0;
        double scaleX = outW > 1 ? (width - 1) / (double) (outW - 1) : 0;
        for (int c = 0; c < channels; c++) {
            int plane = c * height * width;
            for (int oy = 0; oy < outH; oy++) {
                double sy = oy * scaleY;
                int y0 = (int) Math.floor(sy);
                double[] wy = cubicWeights(sy - y0);
                for (int ox = 0; ox < outW; ox++) {
                    double sx = ox * scaleX;
                    int x0 = (int) Math.floor(sx);
                    double[] wx = cubicWeights(sx - x0);
                    double sum = 0;
                    for (int j = 0; j < 4; j++) {
                        int yy = clamp(y0 - 1 + j, height);
                        double rowSum = 0;
                        for (int i = 0; i < 4; i++) {
                            rowSum += wx[i] * in[plane + yy * width + clamp(x0 - 1 + i, width)];
                        }
                        sum += wy[j] * rowSum;
                    }
                    out[(c * outH + oy) * outW + ox] = (float) sum;
                }
            }
        }
        return out;
    }

    private static double[] cubicWeights(double t) {
        return new double[] {cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)};
    }

    private static double cubicNear(double x) {
        return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
    }

    private static double cubicFar(double x) {
        return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
    }

    private static int clamp(int i, int size) {
        return Math.max(0, Math.min(size - 1, i));
    }
}
