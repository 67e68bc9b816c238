package dev.asyncdiff.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * {@link Images#resize} against Pillow 9.4's {@code Image.resize} ({@code pillow-resize/make_reference.py}): Lanczos
 * and bicubic, downscaling, upscaling, one axis only, pixel for pixel.
 */
class ResampleTest {
    @Test
    void equalsPillowPixelForPixel() throws IOException {
        int compared = 0;
        for (String name : List.of("a", "b")) {
            BufferedImage source = read(name + ".png");
            for (Resample filter : Resample.values()) {
                for (int[] size : List.of(new int[] {16, 12}, new int[] {100, 75}, new int[] {source.getWidth(), 60},
                        new int[] {20, source.getHeight()}, new int[] {8, 8})) {
                    String file = String.format(Locale.ROOT, "%s-%s-%dx%d.png", name,
                            filter.name().toLowerCase(Locale.ROOT), size[0], size[1]);
                    BufferedImage expected = read(file);
                    BufferedImage actual = Images.resize(source, size[0], size[1], filter);
                    assertThat(actual.getWidth()).isEqualTo(size[0]);
                    assertThat(actual.getHeight()).isEqualTo(size[1]);
                    int[] want = expected.getRGB(0, 0, size[0], size[1], null, 0, size[0]);
                    int[] got = actual.getRGB(0, 0, size[0], size[1], null, 0, size[0]);
                    assertThat(got).as(file).containsExactly(want);
                    compared++;
                }
            }
        }
        assertThat(compared).isEqualTo(20);
    }

    @Test
    void theDefaultIsLanczosAndTensorDataUsesIt() throws IOException {
        BufferedImage source = read("b.png");
        BufferedImage lanczos = read("b-lanczos-16x12.png");
        assertThat(Images.resize(source, 16, 12).getRGB(3, 4)).isEqualTo(lanczos.getRGB(3, 4));
        float[] chw = Images.toTensorData(source, 16, 12);
        assertThat(chw[4 * 16 + 3]).isEqualTo(((lanczos.getRGB(3, 4) >> 16) & 0xFF) / 127.5f - 1f);
    }

    private static BufferedImage read(String file) throws IOException {
        try (InputStream in = ResampleTest.class.getResourceAsStream("/pillow-resize/" + file)) {
            return ImageIO.read(in);
        }
    }
}
