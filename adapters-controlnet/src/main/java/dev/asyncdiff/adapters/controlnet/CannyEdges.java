package dev.asyncdiff.adapters.controlnet;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.util.Arrays;

/**
 * Canny edge detector that reproduces OpenCV's {@code cv2.Canny(image, low, high)} pixel for pixel,
 * the control-image preprocessor of the diffusers ControlNet examples.
 *
 * <p>diffusers does {@code np.array(pil_image)} (8-bit R, G, B), {@code cv2.Canny(image, 100, 200)},
 * then repeats the single channel three times. {@link #apply} returns that three-channel image:
 * edges are white (255, 255, 255), everything else black. It follows OpenCV's
 * {@code modules/imgproc/src/canny.cpp} with its defaults ({@code apertureSize = 3},
 * {@code L2gradient = false}):
 *
 * <ol>
 *   <li>3×3 Sobel derivatives of every channel, with {@code BORDER_REPLICATE}; there is no Gaussian
 *       blur inside Canny (diffusers applies none either).</li>
 *   <li>Magnitude {@code |dx| + |dy|} per channel; each pixel keeps the magnitude and the derivatives
 *       of the channel whose magnitude is largest, the first one (R, then G, then B) on ties.</li>
 *   <li>Non-maximum suppression in four sectors chosen with OpenCV's fixed-point tangent test
 *       ({@code tan 22.5° ≈ 13573 / 2^15}), with its asymmetric comparisons ({@code >} against one
 *       neighbour, {@code >=} against the other along the horizontal and vertical directions,
 *       {@code >} against both diagonally) and zero magnitude outside the image. Pixels on the
 *       image border can be edges, as in OpenCV.</li>
 *   <li>Hysteresis: a pixel that survives suppression is strong when its magnitude exceeds
 *       {@code high}, weak when it exceeds {@code low} (both strictly); weak pixels 8-connected,
 *       directly or through other weak pixels, to a strong one are edges.</li>
 * </ol>
 *
 * <p>Thresholds as OpenCV handles them: if {@code low > high} the two are swapped, as
 * {@code cv::Canny} does. Negative thresholds, which OpenCV silently accepts, are rejected here.
 *
 * <p>Any {@link BufferedImage} type is accepted; alpha is ignored. Colour images are read through
 * {@link BufferedImage#getRGB}. Grayscale images (such as an 8-bit gray PNG loaded by ImageIO) are
 * read from the raster, so each channel equals the stored gray value, as PIL's
 * {@code convert("RGB")} gives, instead of the gamma-mapped values {@code getRGB} returns for a
 * linear gray colour space; gray samples wider than 8 bits keep their top 8 bits.
 *
 * <p>Stateless and thread-safe; the input is not modified and the result is a new image.
 */
public final class CannyEdges {

    private static final int CANNY_SHIFT = 15;
    /** OpenCV's {@code TG22}: tan(22.5°) in 15-bit fixed point, rounded (13573). */
    private static final int TG22 = (int) (0.4142135623730950488016887242097 * (1 << CANNY_SHIFT) + 0.5);

    /** Map values, as in OpenCV: may be an edge, cannot be an edge, is an edge. */
    private static final byte CANDIDATE = 0;
    private static final byte NOT_EDGE = 1;
    private static final byte EDGE = 2;

    private static final int WHITE = 0xFFFFFF;

    private CannyEdges() {
    }

    /**
     * Returns the Canny edges of {@code image} as a new {@link BufferedImage#TYPE_INT_RGB} image of
     * the same size, edges white and the rest black, equal to diffusers' three-channel
     * {@code cv2.Canny(np.array(image), low, high)}.
     *
     * @param image any image; alpha is ignored
     * @param low hysteresis threshold for weak edges, at least 0
     * @param high hysteresis threshold for strong edges, at least 0; swapped with {@code low} when
     *     smaller, as OpenCV does
     * @throws IllegalArgumentException if {@code image} is null or a threshold is negative
     */
    public static BufferedImage apply(BufferedImage image, int low, int high) {
        if (image == null) {
            throw new IllegalArgumentException("expected an image, found null");
        }
        if (low < 0 || high < 0) {
            throw new IllegalArgumentException(
                    "expected thresholds >= 0, found low=" + low + ", high=" + high);
        }
        if (low > high) {
            int t = low;
            low = high;
            high = t;
        }
        int w = image.getWidth();
        int h = image.getHeight();
        int[] rgb = readRgb(image);

        int n = w * h;
        int[] mag = new int[n];
        int[] dx = new int[n];
        int[] dy = new int[n];
        gradients(rgb, w, h, mag, dx, dy);

        boolean[] edge = hysteresis(suppress(mag, dx, dy, w, h, low, high), w, h);

        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] pixels = new int[n];
        for (int i = 0; i < n; i++) {
            pixels[i] = edge[i] ? WHITE : 0;
        }
        out.setRGB(0, 0, w, h, pixels, 0, w);
        return out;
    }

    /** Packed 0xRRGGBB per pixel, row-major, as np.array(pil_image.convert("RGB")) would hold it. */
    private static int[] readRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        if (cm instanceof ComponentColorModel
                && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getNumColorComponents() == 1) {
            Raster raster = image.getRaster();
            int shift = Math.max(0, cm.getComponentSize(0) - 8);
            int[] rgb = new int[w * h];
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int g = Math.min(255, row[x] >>> shift);
                    rgb[y * w + x] = (g << 16) | (g << 8) | g;
                }
            }
            return rgb;
        }
        return image.getRGB(0, 0, w, h, null, 0, w);
    }

    /**
     * 3×3 Sobel with replicated borders on each channel, then per pixel the channel with the largest
     * |dx| + |dy| (first on ties, as OpenCV's strict {@code >} scan over channels).
     */
    private static void gradients(int[] rgb, int w, int h, int[] mag, int[] dx, int[] dy) {
        int[][] planes = new int[3][w * h];
        for (int i = 0; i < rgb.length; i++) {
            planes[0][i] = (rgb[i] >>> 16) & 0xFF;
            planes[1][i] = (rgb[i] >>> 8) & 0xFF;
            planes[2][i] = rgb[i] & 0xFF;
        }
        for (int y = 0; y < h; y++) {
            int up = Math.max(y - 1, 0) * w;
            int mid = y * w;
            int down = Math.min(y + 1, h - 1) * w;
            for (int x = 0; x < w; x++) {
                int l = Math.max(x - 1, 0);
                int r = Math.min(x + 1, w - 1);
                int bestMag = -1;
                int bestDx = 0;
                int bestDy = 0;
                for (int[] p : planes) {
                    int gx = (p[up + r] - p[up + l])
                            + 2 * (p[mid + r] - p[mid + l])
                            + (p[down + r] - p[down + l]);
                    int gy = (p[down + l] + 2 * p[down + x] + p[down + r])
                            - (p[up + l] + 2 * p[up + x] + p[up + r]);
                    int m = Math.abs(gx) + Math.abs(gy);
                    if (m > bestMag) {
                        bestMag = m;
                        bestDx = gx;
                        bestDy = gy;
                    }
                }
                mag[mid + x] = bestMag;
                dx[mid + x] = bestDx;
                dy[mid + x] = bestDy;
            }
        }
    }

    /**
     * OpenCV's non-maximum suppression and thresholding. Returns its map, padded by one pixel on
     * every side (the padding is {@link #NOT_EDGE}): {@link #EDGE} for strong pixels,
     * {@link #CANDIDATE} for weak ones, {@link #NOT_EDGE} otherwise.
     */
    private static byte[] suppress(int[] mag, int[] dx, int[] dy, int w, int h, int low, int high) {
        int stride = w + 2;
        byte[] map = new byte[stride * (h + 2)];
        Arrays.fill(map, NOT_EDGE);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int m = mag[y * w + x];
                if (m <= low) {
                    continue;
                }
                int xs = dx[y * w + x];
                int ys = dy[y * w + x];
                int ax = Math.abs(xs);
                int ay = Math.abs(ys) << CANNY_SHIFT;
                int tg22x = ax * TG22;
                boolean max;
                if (ay < tg22x) {
                    max = m > at(mag, w, h, x - 1, y) && m >= at(mag, w, h, x + 1, y);
                } else {
                    int tg67x = tg22x + (ax << (CANNY_SHIFT + 1));
                    if (ay > tg67x) {
                        max = m > at(mag, w, h, x, y - 1) && m >= at(mag, w, h, x, y + 1);
                    } else {
                        int s = (xs ^ ys) < 0 ? -1 : 1;
                        max = m > at(mag, w, h, x - s, y - 1) && m > at(mag, w, h, x + s, y + 1);
                    }
                }
                if (max) {
                    map[(y + 1) * stride + x + 1] = m > high ? EDGE : CANDIDATE;
                }
            }
        }
        return map;
    }

    /** Magnitude with OpenCV's zero padding outside the image. */
    private static int at(int[] mag, int w, int h, int x, int y) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0 : mag[y * w + x];
    }

    /** Grows strong pixels through 8-connected weak ones; returns the unpadded edge mask. */
    private static boolean[] hysteresis(byte[] map, int w, int h) {
        int stride = w + 2;
        int[] stack = new int[Math.max(16, w * h / 10)];
        int top = 0;
        for (int i = 0; i < map.length; i++) {
            if (map[i] == EDGE) {
                if (top == stack.length) {
                    stack = Arrays.copyOf(stack, stack.length * 2);
                }
                stack[top++] = i;
            }
        }
        int[] neighbours = {-1, 1, -stride - 1, -stride, -stride + 1, stride - 1, stride, stride + 1};
        while (top > 0) {
            int p = stack[--top];
            for (int d : neighbours) {
                int q = p + d;
                if (map[q] == CANDIDATE) {
                    map[q] = EDGE;
                    if (top == stack.length) {
                        stack = Arrays.copyOf(stack, stack.length * 2);
                    }
                    stack[top++] = q;
                }
            }
        }
        boolean[] edge = new boolean[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                edge[y * w + x] = map[(y + 1) * stride + x + 1] == EDGE;
            }
        }
        return edge;
    }
}
