#include "core/code_lists.h"

namespace fupin {
namespace {

constexpr CodeEntry kCategory[] = {
    {1, "一般贫困户", "ordinary poor household"},
    {2, "低保贫困户", "poor household on minimum living allowance (dibao)"},
    {3, "特困供养贫困户", "poor household in destitute support (tekun)"},
};
constexpr CodeEntry kCause[] = {
    {1, "因病", "illness"},
    {2, "因残", "disability"},
    {3, "因学", "schooling costs"},
    {4, "因灾", "disaster"},
    {5, "缺土地", "lack of land"},
    {6, "缺水", "lack of water"},
    {7, "缺技术", "lack of skills"},
    {8, "缺劳力", "lack of labour"},
    {9, "缺资金", "lack of capital"},
    {10, "交通条件落后", "poor transport"},
    {11, "自身发展动力不足", "lack of motivation"},
    {12, "因婚", "marriage costs"},
    {99, "其他", "other"},
};
constexpr CodeEntry kStatus[] = {
    {1, "未脱贫", "not yet out of poverty"},
    {2, "已脱贫（享受政策）", "exited, still receiving support"},
    {3, "返贫", "returned to poverty"},
    {4, "已脱贫（不再享受政策）", "exited, support ended"},
    {9, "注销", "removed (deceased, moved, wrongly registered)"},
};
constexpr CodeEntry kRelation[] = {
    {1, "户主", "head of household"},
    {2, "配偶", "spouse"},
    {3, "之子", "son"},
    {4, "之女", "daughter"},
    {5, "之儿媳", "daughter-in-law"},
    {6, "之女婿", "son-in-law"},
    {7, "之孙子", "grandson"},
    {8, "之孙女", "granddaughter"},
    {9, "之父母", "parent"},
    {10, "之兄弟姐妹", "sibling"},
    {99, "其他", "other"},
};
constexpr CodeEntry kEducation[] = {
    {1, "文盲或半文盲", "illiterate or semi-literate"},
    {2, "小学", "primary school"},
    {3, "初中", "junior secondary"},
    {4, "高中", "senior secondary"},
    {5, "大专及以上", "college or above"},
    {6, "学龄前儿童", "pre-school child"},
};
constexpr CodeEntry kSchool[] = {
    {0, "非在校生", "not in school"},
    {1, "学前教育", "pre-school"},
    {2, "小学", "primary"},
    {3, "初中", "junior secondary"},
    {4, "普通高中", "senior secondary"},
    {5, "中职", "secondary vocational"},
    {6, "高职", "higher vocational"},
    {7, "本科及以上", "university or above"},
};
constexpr CodeEntry kHealth[] = {
    {1, "健康", "healthy"},
    {2, "长期慢性病", "chronic illness"},
    {3, "患有大病", "serious illness"},
    {4, "残疾", "disabled"},
};
constexpr CodeEntry kLabor[] = {
    {1, "普通劳动力", "ordinary labour"},
    {2, "技能劳动力", "skilled labour"},
    {3, "丧失劳动力", "lost ability to work"},
    {4, "无劳动力", "no labour"},
    {5, "弱劳动力或半劳动力", "weak or partial labour"},
};
constexpr CodeEntry kWork[] = {
    {0, "无", "none"},
    {1, "乡（镇）内务工", "working within the township"},
    {2, "乡（镇）外县内务工", "working in the county outside the township"},
    {3, "县外省内务工", "working in the province outside the county"},
    {4, "省外务工", "working outside the province"},
    {99, "其他", "other"},
};
constexpr CodeEntry kSex[] = {
    {1, "男", "male"},
    {2, "女", "female"},
};
constexpr CodeEntry kYesNo[] = {
    {0, "否", "no"},
    {1, "是", "yes"},
};
// A village's terrain (地形), as the village attribute surveys class it.
constexpr CodeEntry kTerrain[] = {
    {1, "平原", "plain"},
    {2, "丘陵", "hills"},
    {3, "山区", "mountains"},
    {4, "高原", "plateau"},
};
// Why a member left the household (减员原因).
constexpr CodeEntry kLeftReason[] = {
    {1, "死亡", "died"},
    {2, "婚出", "married out"},
    {3, "迁出", "moved out"},
    {9, "其他", "other"},
};
constexpr CodeEntry kDibaoType[] = {
    {1, "低保", "minimum living allowance (dibao)"},
    {2, "特困供养", "destitute support (tekun)"},
};
constexpr CodeEntry kWorkPlace[] = {
    {1, "县内", "in county"},
    {2, "省内县外", "in province"},
    {3, "省外", "out of province"},
};
constexpr CodeEntry kBusinessRole[] = {
    {1, "法定代表人", "legal representative"},
    {2, "股东", "shareholder"},
};
// GB/T 26341 残疾类别.
constexpr CodeEntry kDisabilityType[] = {
    {1, "视力残疾", "visual"},   {2, "听力残疾", "hearing"},      {3, "言语残疾", "speech"},
    {4, "肢体残疾", "physical"}, {5, "智力残疾", "intellectual"}, {6, "精神残疾", "mental"},
    {7, "多重残疾", "multiple"},
};
constexpr CodeEntry kDisabilityGrade[] = {
    {1, "一级", "grade 1 (most severe)"},
    {2, "二级", "grade 2"},
    {3, "三级", "grade 3"},
    {4, "四级", "grade 4"},
};
// GB 3304 民族.
constexpr CodeEntry kEthnicity[] = {
    {1, "汉族", "Han"},
    {2, "蒙古族", "Mongol"},
    {3, "回族", "Hui"},
    {4, "藏族", "Tibetan"},
    {5, "维吾尔族", "Uyghur"},
    {6, "苗族", "Miao"},
    {7, "彝族", "Yi"},
    {8, "壮族", "Zhuang"},
    {9, "布依族", "Buyei"},
    {10, "朝鲜族", "Korean"},
    {11, "满族", "Manchu"},
    {12, "侗族", "Dong"},
    {13, "瑶族", "Yao"},
    {14, "白族", "Bai"},
    {15, "土家族", "Tujia"},
    {16, "哈尼族", "Hani"},
    {17, "哈萨克族", "Kazakh"},
    {18, "傣族", "Dai"},
    {19, "黎族", "Li"},
    {20, "傈僳族", "Lisu"},
    {21, "佤族", "Va"},
    {22, "畲族", "She"},
    {23, "高山族", "Gaoshan"},
    {24, "拉祜族", "Lahu"},
    {25, "水族", "Sui"},
    {26, "东乡族", "Dongxiang"},
    {27, "纳西族", "Naxi"},
    {28, "景颇族", "Jingpo"},
    {29, "柯尔克孜族", "Kyrgyz"},
    {30, "土族", "Tu"},
    {31, "达斡尔族", "Daur"},
    {32, "仫佬族", "Mulao"},
    {33, "羌族", "Qiang"},
    {34, "布朗族", "Blang"},
    {35, "撒拉族", "Salar"},
    {36, "毛南族", "Maonan"},
    {37, "仡佬族", "Gelao"},
    {38, "锡伯族", "Xibe"},
    {39, "阿昌族", "Achang"},
    {40, "普米族", "Pumi"},
    {41, "塔吉克族", "Tajik"},
    {42, "怒族", "Nu"},
    {43, "乌孜别克族", "Uzbek"},
    {44, "俄罗斯族", "Russian"},
    {45, "鄂温克族", "Evenki"},
    {46, "德昂族", "De'ang"},
    {47, "保安族", "Bonan"},
    {48, "裕固族", "Yugur"},
    {49, "京族", "Gin"},
    {50, "塔塔尔族", "Tatar"},
    {51, "独龙族", "Derung"},
    {52, "鄂伦春族", "Oroqen"},
    {53, "赫哲族", "Hezhen"},
    {54, "门巴族", "Monpa"},
    {55, "珞巴族", "Lhoba"},
    {56, "基诺族", "Jino"},
    {97, "其他未识别民族", "other"},
    {98, "外国血统中国籍人士", "naturalised citizen of foreign origin"},
};

constexpr CodeList kLists[] = {
    {"category", "贫困户属性", kCategory},
    {"cause", "致贫原因", kCause},
    {"status", "脱贫状态", kStatus},
    {"relation", "与户主关系", kRelation},
    {"education", "文化程度", kEducation},
    {"school", "在校生状况", kSchool},
    {"health", "健康状况", kHealth},
    {"labor", "劳动技能", kLabor},
    {"work", "务工状况", kWork},
    {"ethnicity", "民族", kEthnicity},
    {"sex", "性别", kSex},
    {"yes_no", "是否", kYesNo},
    {"terrain", "地形", kTerrain},
    {"left_reason", "减员原因", kLeftReason},
    {"dibao_type", "低保类别", kDibaoType},
    {"work_place", "就业地", kWorkPlace},
    {"business_role", "企业身份", kBusinessRole},
    {"disability_type", "残疾类别", kDisabilityType},
    {"disability_grade", "残疾等级", kDisabilityGrade},
};

}  // namespace

const CodeEntry* CodeList::Find(int code) const {
  for (const CodeEntry& e : entries)
    if (e.code == code) return &e;
  return nullptr;
}

const CodeList* FindCodeList(std::string_view name) {
  for (const CodeList& list : kLists)
    if (list.name == name) return &list;
  return nullptr;
}

std::span<const CodeList> AllCodeLists() { return kLists; }

bool IsPoorStatus(int status) { return status == 1 || status == 3; }
bool IsExitedStatus(int status) { return status == 2 || status == 4; }

}  // namespace fupin
