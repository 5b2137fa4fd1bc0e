// The multiply-add throughput of this CPU's AVX2 units, the floor under every exact
// dense kernel here (docs/performance.md, "What limits the single decision and small
// batches"). Twelve independent chains of vpmaddwd (16 int16 products summed in pairs)
// and of vfmadd231ps (8 fp32 multiply-adds), best of 300 short runs (robust to other
// load: a run of ~1 ms rarely loses its core).
//   g++ -O2 -mavx2 -mfma -o /tmp/mac tools/mac_throughput.cpp && /tmp/mac
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
int main(){
  __m256i b=_mm256_set1_epi16(3);
  __m256 g=_mm256_set1_ps(1.0001f), h=_mm256_set1_ps(0.9999f);
#define DI(i) __m256i a##i=_mm256_set1_epi16(i+1);
#define DF(i) __m256 f##i=_mm256_set1_ps(i+1);
  R12(DI) R12(DF)
  const long N=100000; double b1=1e9,b2=1e9;
  for(int rep=0;rep<300;rep++){
    auto t0=std::chrono::steady_clock::now();
    for(long n=0;n<N;n++){
#define MI(i) a##i=_mm256_madd_epi16(a##i,b); __asm__ volatile("":"+x"(a##i));
      R12(MI)
    }
    auto t1=std::chrono::steady_clock::now();
    for(long n=0;n<N;n++){
#define MF(i) f##i=_mm256_fmadd_ps(f##i,g,h); __asm__ volatile("":"+x"(f##i));
      R12(MF)
    }
    auto t2=std::chrono::steady_clock::now();
    double d1=std::chrono::duration<double>(t1-t0).count(), d2=std::chrono::duration<double>(t2-t1).count();
    if(d1<b1)b1=d1; if(d2<b2)b2=d2;
  }
  int s=0;
#define S(i) s+=_mm256_extract_epi32(a##i,0)+(int)_mm256_cvtss_f32(f##i);
  R12(S)
  printf("vpmaddwd %.3f ns per instruction (16 int16 products), vfmadd231ps %.3f ns (8 fp32 multiply-adds)%s\n", b1 / N / 12 * 1e9, b2 / N / 12 * 1e9, (s & 1) ? "" : " ");
}
