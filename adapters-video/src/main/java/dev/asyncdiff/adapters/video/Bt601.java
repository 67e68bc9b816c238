package dev.asyncdiff.adapters.video;

import java.awt.image.BufferedImage;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Picture;

/**
 * ITU-R BT.601 limited-range ("TV range") conversion between 8-bit RGB and YUV 4:2:0 JCodec pictures:
 * Y in 16..235, Cb and Cr in 16..240, which is what H.264 means when the stream does not say otherwise
 * and what ffmpeg and players assume for it.
 *
 * <p>JCodec 0.2.5's own conversion cannot be used for MP4: its RGB to YUV weights sum to 242/256 (blue
 * weighs 15 instead of 29) and it writes full-range values into a stream that does not signal full range,
 * so ffmpeg showed greys 16, 32, 64, 128, 235 as 0, 16, 51, 119, 241 and {@code c83232} as {@code cb2824}.
 *
 * <p>JCodec pictures hold samples as signed bytes, value minus 128. Chroma is the average of each 2x2
 * block; width and height must be even. Chroma is upsampled by repetition when reading back.
 */
final class Bt601 {
    private Bt601() {
    }

    /** {@code image} as a YUV 4:2:0 picture of the same size; width and height must be even. */
    static Picture toYuv420(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        int[] rgb = image.getRGB(0, 0, width, height, null, 0, width);
        // Labelled YUV420J, the only input JCodec's H.264 encoder declares; the samples are limited range.
        Picture picture = Picture.create(width, height, ColorSpace.YUV420J);
        byte[] y = picture.getPlaneData(0);
        byte[] cb = picture.getPlaneData(1);
        byte[] cr = picture.getPlaneData(2);
        for (int i = 0; i < rgb.length; i++) {
            int p = rgb[i];
            y[i] = sample(16 + (65.481 * red(p) + 128.553 * green(p) + 24.966 * blue(p)) / 255);
        }
        int chromaWidth = width / 2;
        for (int cy = 0; cy < height / 2; cy++) {
            for (int cx = 0; cx < chromaWidth; cx++) {
                int top = 2 * cy * width + 2 * cx;
                int[] block = {rgb[top], rgb[top + 1], rgb[top + width], rgb[top + width + 1]};
                double r = 0;
                double g = 0;
                double b = 0;
                for (int p : block) {
                    r += red(p) / 4.0;
                    g += green(p) / 4.0;
                    b += blue(p) / 4.0;
                }
                cb[cy * chromaWidth + cx] = sample(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
                cr[cy * chromaWidth + cx] = sample(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
            }
        }
        return picture;
    }

    /**
     * A decoded 8-bit YUV 4:2:0 {@code picture}, read as limited range whatever its label, as an RGB image of
     * its cropped size.
     */
    static BufferedImage toRgb(Picture picture) {
        int width = picture.getCroppedWidth();
        int height = picture.getCroppedHeight();
        int left = picture.getStartX();
        int top = picture.getStartY();
        byte[] y = picture.getPlaneData(0);
        byte[] cb = picture.getPlaneData(1);
        byte[] cr = picture.getPlaneData(2);
        int lumaStride = picture.getPlaneWidth(0);
        int chromaStride = picture.getPlaneWidth(1);
        int[] rgb = new int[width * height];
        for (int row = 0; row < height; row++) {
            for (int col = 0; col < width; col++) {
                int px = left + col;
                int py = top + row;
                int c = (py / 2) * chromaStride + px / 2;
                double l = 1.164383 * (y[py * lumaStride + px] + 128 - 16);
                double u = cb[c];
                double v = cr[c];
                int r = clamp(l + 1.596027 * v);
                int g = clamp(l - 0.391762 * u - 0.812968 * v);
                int b = clamp(l + 2.017232 * u);
                rgb[row * width + col] = (r << 16) | (g << 8) | b;
            }
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, width, height, rgb, 0, width);
        return image;
    }

    private static int red(int rgb) {
        return (rgb >> 16) & 0xFF;
    }

    private static int green(int rgb) {
        return (rgb >> 8) & 0xFF;
    }

    private static int blue(int rgb) {
        return rgb & 0xFF;
    }

    /** An 8-bit sample value as JCodec stores it (minus 128). */
    private static byte sample(double value) {
        return (byte) (clamp(value) - 128);
    }

    private static int clamp(double value) {
        return (int) Math.max(0, Math.min(255, Math.round(value)));
    }
}
