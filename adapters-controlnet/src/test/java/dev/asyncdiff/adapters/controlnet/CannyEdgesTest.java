package dev.asyncdiff.adapters.controlnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks {@link CannyEdges} against outputs of OpenCV 4.6's {@code cv2.Canny}, stored under
 * {@code src/test/resources/canny/} by {@code make_reference.py} (run by hand, never by the build).
 */
class CannyEdgesTest {

    @ParameterizedTest(name = "{0} at ({1}, {2})")
    @CsvSource({
        "pattern_64x48, 100, 200",
        "pattern_64x48, 30, 90",
        "colour_64x48, 100, 200",
        "colour_64x48, 30, 90",
    })
    void matchesOpenCvPixelForPixel(String name, int low, int high) {
        BufferedImage input = load(name + ".png");
        BufferedImage expected = load(name + "_canny_" + low + "_" + high + ".png");

        BufferedImage actual = CannyEdges.apply(input, low, high);

        assertThat(actual.getType()).isEqualTo(BufferedImage.TYPE_INT_RGB);
        assertThat(edgeCount(expected)).as("reference edge pixels").isBetween(200, 1500);
        assertThat(mismatches(actual, expected)).as("pixels differing from cv2.Canny").isEmpty();
    }

    @ParameterizedTest(name = "BufferedImage type {0}")
    @ValueSource(ints = {BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_INT_BGR})
    void otherImageTypesGiveTheSameEdgesAndIgnoreAlpha(int type) {
        BufferedImage input = load("colour_64x48.png");
        BufferedImage converted = new BufferedImage(input.getWidth(), input.getHeight(), type);
        for (int y = 0; y < input.getHeight(); y++) {
            for (int x = 0; x < input.getWidth(); x++) {
                int alpha = (x * 37 + y * 11) & 0xFF;
                converted.setRGB(x, y, (alpha << 24) | (input.getRGB(x, y) & 0xFFFFFF));
            }
        }
        if (converted.getColorModel().hasAlpha()) {
            assertThat(converted.getRGB(5, 3) >>> 24).isEqualTo((5 * 37 + 3 * 11) & 0xFF);
        }

        assertThat(mismatches(CannyEdges.apply(converted, 100, 200), load("colour_64x48_canny_100_200.png")))
                .isEmpty();
    }

    @Test
    void grayImageUsesItsStoredValuesInEveryChannel() {
        // getRGB on TYPE_BYTE_GRAY gamma-maps mid-grays (64 -> 137); PIL's convert("RGB") does not.
        int w = 12;
        int h = 10;
        BufferedImage gray = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = x < 6 ? 0 : 64 + 8 * (y % 3);
                gray.getRaster().setSample(x, y, 0, v);
                rgb.setRGB(x, y, (v << 16) | (v << 8) | v);
            }
        }
        // The step of 64..80 gives a magnitude of about 256..290: an edge at (100, 200) but none at
        // (300, 400). Read through getRGB it would be a step of 137..153 and pass (300, 400) too.
        assertThat(mismatches(CannyEdges.apply(gray, 100, 200), CannyEdges.apply(rgb, 100, 200))).isEmpty();
        assertThat(edgeCount(CannyEdges.apply(gray, 100, 200))).isPositive();
        assertThat(edgeCount(CannyEdges.apply(gray, 300, 400))).isZero();
    }

    @Test
    void edgeInOneChannelOnlyIsFoundAndReachesTheBorderRows() {
        // cv2.Canny of this image (blue step between columns 3 and 4) is column 3, all 8 rows:
        // OpenCV does not clear the outermost pixels, and neither may we.
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) {
            for (int x = 4; x < 8; x++) {
                image.setRGB(x, y, 0x0000FF);
            }
        }

        BufferedImage edges = CannyEdges.apply(image, 100, 200);

        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                assertThat(edges.getRGB(x, y) & 0xFFFFFF).as("(%d, %d)", x, y).isEqualTo(x == 3 ? 0xFFFFFF : 0);
            }
        }
    }

    @ParameterizedTest(name = "colour {0}")
    @ValueSource(ints = {0x000000, 0xFFFFFF, 0x0AC81E, 0x808080})
    void uniformImageHasNoEdges(int colour) {
        for (int[] size : new int[][] {{1, 1}, {1, 5}, {9, 1}, {31, 17}}) {
            BufferedImage image = new BufferedImage(size[0], size[1], BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            g.setColor(new java.awt.Color(colour));
            g.fillRect(0, 0, size[0], size[1]);
            g.dispose();

            BufferedImage edges = CannyEdges.apply(image, 0, 0);

            assertThat(edges.getWidth()).isEqualTo(size[0]);
            assertThat(edges.getHeight()).isEqualTo(size[1]);
            assertThat(edgeCount(edges)).isZero();
        }
    }

    @Test
    void swappedThresholdsAreSwappedBackAsOpenCvDoes() {
        BufferedImage input = load("pattern_64x48.png");
        BufferedImage expected = load("pattern_64x48_canny_30_90.png");

        assertThat(mismatches(CannyEdges.apply(input, 90, 30), expected)).isEmpty();
        assertThat(mismatches(CannyEdges.apply(input, 200, 100), CannyEdges.apply(input, 100, 200))).isEmpty();
    }

    @Test
    void thresholdsMatter() {
        BufferedImage input = load("pattern_64x48.png");

        assertThat(mismatches(CannyEdges.apply(input, 100, 200), CannyEdges.apply(input, 30, 90))).isNotEmpty();
    }

    @Test
    void rejectsNegativeThresholdsAndNullImage() {
        BufferedImage image = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);

        assertThatThrownBy(() -> CannyEdges.apply(image, -1, 200))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("low=-1");
        assertThatThrownBy(() -> CannyEdges.apply(image, 100, -5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("high=-5");
        assertThatThrownBy(() -> CannyEdges.apply(null, 100, 200))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("null");
    }

    private static BufferedImage load(String resource) {
        try (InputStream in = CannyEdgesTest.class.getResourceAsStream("/canny/" + resource)) {
            assertThat(in).as("test resource canny/%s", resource).isNotNull();
            return ImageIO.read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pixels where {@code actual} is not the 0/255 gray of {@code expected}, "(x, y)" each, at most 20. */
    private static List<String> mismatches(BufferedImage actual, BufferedImage expected) {
        assertThat(actual.getWidth()).isEqualTo(expected.getWidth());
        assertThat(actual.getHeight()).isEqualTo(expected.getHeight());
        List<String> out = new ArrayList<>();
        int count = 0;
        for (int y = 0; y < expected.getHeight(); y++) {
            for (int x = 0; x < expected.getWidth(); x++) {
                if ((actual.getRGB(x, y) & 0xFFFFFF) != (expected.getRGB(x, y) & 0xFFFFFF)) {
                    if (++count <= 20) {
                        out.add("(" + x + ", " + y + ")");
                    }
                }
            }
        }
        if (count > 20) {
            out.add("... " + (count - 20) + " more");
        }
        return out;
    }

    private static int edgeCount(BufferedImage image) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                assertThat(rgb).as("pixel (%d, %d)", x, y).isIn(0, 0xFFFFFF);
                if (rgb != 0) {
                    count++;
                }
            }
        }
        return count;
    }
}
